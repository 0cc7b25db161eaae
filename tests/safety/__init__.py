"""The safety case: what the product promises the people who pass on information, each
promise tested here against the ways it could be broken.

1. **Watch volunteers never learn who reported.** A watch item has no informant identity and
   no contact details: none of the informant's name, phone or email appears anywhere in it,
   whatever the informant typed into the description (``test_watch_items``).
2. **Watch volunteers never get the exact place.** A watch item carries a street, a postcode
   sector and an area; never the point, the full postcode, a house number or name, or the
   informant's own words for the place (``test_watch_items``).
3. **Free text is scrubbed of people and contact details.** Names (with and without cues, in
   capitals, accented, three-part, after a possessive), phone numbers in every form, emails
   (spelled out too), profile URLs, handles, vehicle registrations and addresses are taken out
   of what a watch reads, while what makes the report useful (the street, the place, times,
   speeds) stays: the redaction corpus (``redaction_corpus.yaml``, ``test_redaction_corpus``).
   Its known limits are written at the top of the corpus file.
4. **Sensitive reports never go to a watch.** Domestic abuse, hate incidents and safeguarding
   concerns never make a watch item, whether the informant chose that category or described
   it under another one (``test_sensitive_reports``).
5. **A sensitive report is never messaged unless the informant said the channel is safe**,
   and then only in the times they gave; this holds when it is the words, not the category,
   that make it sensitive, for the acknowledgement and every later message (case updates,
   holding updates, the survey), which read the router's verdict kept with the report
   (``test_sensitive_reports``).
6. **Safe times are kept at the moment of sending.** Someone who gave safe times is written to
   only inside them, and by SMS never in quiet hours: a window that can never open is refused at
   intake and, if one reaches the worker, nothing is sent ("rather than never" is never); a
   message whose moment passed during an outage, a restart or a backlog waits for the next
   window; a retry's time goes through the same check. A property test over random windows,
   quiet hours, outages and retries holds it (``test_safe_windows``). The API and both forms
   take safe times as days and times; a set that could never open is refused with an error
   that names the problem (``test_safe_times_at_intake``).
7. **What someone writes back is read, not swallowed.** Only a reply that is just an answer
   ("4", "4 Y", "no") counts as a survey answer; anything else is routed as new information,
   so the router reads it for danger now (control room, 999 advice). Quoted text and
   signatures in an email reply are not read as the person's words. A watch coordinator's
   reply is never taken for the informant's. A reply about a sensitive report is answered
   only within the report's safety rules (``test_replies``).
8. **A message about a sensitive report says nothing to someone else who sees it.** It names
   neither the category nor the team (whose name can say it), and carries no link to the
   report unless the person asked for one (``ContactPreferences.track_link``; unset: a link for
   an ordinary report, none for a sensitive one) (``test_neutral_wording``).
9. **A replayed provider callback changes nothing.** A signed Twilio STOP or status callback
   sent again later, or a SendGrid batch sent again within its window, is the same event (its
   id comes from the provider's ids); the worker remembers the callbacks it acted on
   (``provider_events``), so an old STOP never overrides a newer START. Opt-outs follow the
   provider's time of the event (SendGrid's ``timestamp``); Twilio's webhooks carry no time, so
   a STOP or START counts from its receipt and its replays are known by MessageSid
   (``test_replays``).
10. **What a watch reads was written for a watch.** The police's update to the informant (which can
    name them, their street, the person reported and what was done to him) is never shown to a
    watch; a watch reads the note the police wrote for watches (``watch_note``), and its own entries
    (``test_what_watches_read``).
11. **A watch's words are the watch's.** An informant reads a watch's update as from the watch,
    never as a police update; one text to a whole cluster of informants is for the police only
    (``test_what_watches_read``).
12. **No report is lost while answered 202.** Every reference given out is one report's alone: an
    ``Idempotency-Key`` is the caller's own (its API key's principal, or for an anonymous caller its
    address) and bound to what was sent with it (the same key with another report: 422); a random
    reference already given out is drawn again, and a contact arriving under a reference another
    report has is dead-lettered and counted, never recorded over it (``test_references``).
13. **An email is someone's reply only if it is theirs.** Each email we send has its own reply
    address (a token bound to the message and its recipient); an inbound email counts as that
    person's reply only with a valid token and SPF and DKIM passing. Anything else is a new contact
    from someone unknown: never attached to a report, never an opt-out or a survey answer
    (``test_email_replies``).
"""
