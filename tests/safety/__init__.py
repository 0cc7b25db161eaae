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
6. **What a watch reads was written for a watch.** The police's update to the informant (which can
   name them, their street, the person reported and what was done to him) is never shown to a
   watch; a watch reads the note the police wrote for watches (``watch_note``), and its own entries
   (``test_what_watches_read``).
7. **A watch's words are the watch's.** An informant reads a watch's update as from the watch,
   never as a police update; one text to a whole cluster of informants is for the police only
   (``test_what_watches_read``).
8. **No report is lost while answered 202.** Every reference given out is one report's alone: an
   ``Idempotency-Key`` is the caller's own (its API key's principal, or for an anonymous caller its
   address) and bound to what was sent with it (the same key with another report: 422); a random
   reference already given out is drawn again, and a contact arriving under a reference another
   report has is dead-lettered and counted, never recorded over it (``test_references``).
9. **An email is someone's reply only if it is theirs.** Each email we send has its own reply
   address (a token bound to the message and its recipient); an inbound email counts as that
   person's reply only with a valid token and SPF and DKIM passing. Anything else is a new contact
   from someone unknown: never attached to a report, never an opt-out or a survey answer
   (``test_email_replies``).
"""
