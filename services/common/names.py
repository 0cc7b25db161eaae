"""Names for the redaction of free text (``redaction.py``): common first names and surnames in
England and Wales, drawn from the many communities that live here. Names that are everyday
words ("Will", "Mark", "Rose", "Grace", "Green", "Hall", "Baker") are left out on purpose:
scrubbing them everywhere would take the sense out of reports. A name in these lists is
scrubbed wherever it is capitalised (or written in capitals), with the names that follow it.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FIRST_NAMES = _words(
    """
    Aaliyah Aaron Abdi Abdul Abdullah Abdullahi Abigail Abu Ada Adaeze Adam Adebayo Adeel Adel Adele Adrian
    Adriana Agnieszka Ahmad Ahmed Aidan Aiden Aileen Ailsa Aisha Aishah Alan Alana Albert Alberto Aleksander
    Aleksandra Alex Alexa Alexander Alexandra Alexis Alfie Alfred Ali Alice Alicia Alina Alison Alistair
    Amal Amanda Amara Amelia Amina Aminata Amir Amit Amy Ana Anastasia Andrea Andreas Andreea Andrei Andrew
    Andrzej Andy Aneta Angela Angelica Angus Anil Anita Anjali Ann Anna Anne Annie Anthony Antoine Antonio
    Anwar Anya Aoife Archie Arjun Arlo Aron Arran Arthur Asha Ashley Ashok Asif Asma Aurelia Ava Ayaan
    Ayesha Ayodele Ayrton Aziz Barbara Barry Bartosz Beata Beatrice Becky Belinda Ben Benjamin Bernadette
    Bernard Beth Bethan Bethany Beverley Bilal Billy Bogdan Bradley Brandon Brendan Brian Bridget Bronwen
    Bryony Caitlin Callum Calum Cameron Carl Carla Carlos Carly Carmen Carol Caroline Carys Catalina
    Catherine Cathy Cecilia Cerys Chantelle Charlene Charles Charlie Charlotte Cheryl Chidi Chinedu Chioma
    Chloe Chloé Chris Christian Christina Christine Christopher Chukwuma Ciara Ciaran Claire Clara Clare
    Claudia Colin Connor Conor Constantin Craig Cristina Dafydd Daisy Damian Damien Dan Dana Daniel Daniela
    Daniella Danielle Danny Daria Darius Dariusz Darren Dave David Dawid Dean Debbie Deborah Declan Deepak
    Deji Delroy Demi Denise Dennis Derek Desmond Dev Dexter Dhruv Diana Diane Dilip Dimitri Dina Dionne
    Dominic Dominika Donna Donovan Dorota Dorothy Douglas Duncan Dylan Ebony Eddie Edward Edyta Efe Eileen
    Elaine Eleanor Elena Eliza Elizabeth Ella Ellen Ellie Elliot Elliott Eloise Elsie Emeka Emilia Emily
    Emma Emmanuel Eric Erin Esme Esther Ethan Eva Evan Evelyn Evie Ewa Ewan Faisal Farah Farhan Fatima
    Fatuma Fay Fergus Fernando Filip Finlay Finley Fiona Florin Francesca Francis Frankie Fraser Freddie
    Frederick Freya Gabriel Gabriela Gabriella Gareth Gary Gavin Gemma Geoffrey George Georgia Georgina
    Gerald Geraldine Gerard Gethin Gillian Gina Giovanni Giulia Giuseppe Glenn Gordon Graham Grzegorz
    Gurpreet Gwen Gwyneth Habib Hafsa Hailey Halima Hamza Hannah Haris Harjit Harpreet Harriet
    Harrison Harry Harvey Hassan Hayden Hayley Hazel Heidi Helen Helena Henry Hollie Hugh Hugo Hussain
    Hussein Iain Ian Ibrahim Idris Ifeoma Igor Imogen Imran Inderjit Ines Ioana Ion Iqbal Irene Iris Isaac
    Isabel Isabella Isabelle Isaiah Ishaan Isla Ismail Ivan Izabela Jack Jackie Jackson Jacob Jacqueline
    Jade Jai Jake Jakub Jamal James Jamie Jamila Jan Jane Janet Janice Jarosław Jasmine Jason Jaspreet
    Javier Jay Jayden Jean Jeffrey Jennifer Jenny Jeremy Jermaine Jessica Jill Jo Joan Joanna Joanne Jodie
    Joe Joel Johann John Johnny Jon Jonathan Jordan Jorge Josef Joseph Josephine Josh Joshua Josie José Juan
    Judith Julia Julian Julie Juliet Justin Justyna Kacper Kai Kaitlyn Kamal Kamil Karen Karim Karina Karl
    Karolina Kasia Katarzyna Kate Katherine Kathleen Kathryn Katie Katrina Kay Kayleigh Keira Keith Kelly
    Kelvin Kemi Ken Kenneth Kenny Keri Kerry Kevin Khadija Khalid Kian Kieran Kim Kimberley Kiran Kirsty
    Krishna Kristian Krzysztof Kuba Kwame Kyle Lacey Lachlan Lakshmi Lana Laura Lauren Layla Leah Lee
    Leighton Leila Lena Leo Leon Leonard Leonardo Leroy Lesley Leslie Lewis Liam Lilly Lily Linda Lindsay
    Lindsey Lisa Lloyd Logan Lois Lola Lorna Lorraine Louis Louisa Louise Luca Lucas Lucia Lucy Luis Luiza
    Luka Lukas Luke Lydia Lynn Lynne Maciej Mackenzie Madeleine Madison Magda Magdalena Maisie Maja Malcolm
    Malgorzata Mandeep Mandy Manpreet Manuel Marcel Marcin Marco Marcus Margaret Maria Mariam Marian Marie
    Marina Mario Marius Marta Martha Martin Martyn Marvin Mary Maryam María Mason Mateusz Matilda Matt
    Matteo Matthew Maureen Max Maxine Maya Małgorzata Megan Mehmet Melanie Melissa Mia Michael Michaela
    Michal Michał Michelle Miguel Mihai Mikayla Mike Milan Milena Millie Mitchell Mohamed Mohammad Mohammed
    Mohamud Molly Monika Monique Muhammad Mustafa Nadia Naomi Natalia Natalie Natasha Nathan Nathaniel
    Navdeep Navjot Neil Nia Niall Niamh Nicholas Nick Nicola Nicole Nigel Nikhil Nikita Nina Nisha Noah Noor
    Norman Nuala Obinna Oksana Ola Olga Oliver Olivia Olivier Oluwaseun Omar Oscar Osman Owen Pablo Paige
    Pamela Paolo Parveen Patricia Patrick Patryk Paul Paula Paulina Pauline Pawel Paweł Pedro Peter Petra
    Philip Phillip Phoebe Pierre Piotr Pooja Poppy Priya Priyanka Przemek Rachel Radek Rafael Rahul Raj
    Rajesh Rajinder Rakesh Ramesh Rashid Ravi Rayan Rebecca Reece Reggie Reuben Rhian Rhiannon Rhys Ricardo
    Richard Ricky Riley Rishi Rita Robert Roberta Roberto Robyn Rohan Roisin Roman Ronald Ronan Ronnie Rory
    Rosa Rosemary Rosie Ross Rowan Roxanne Ruth Ryan Róisín Sabrina Sachin Sadia Safiya Sahil Saima Sajid
    Salma Salvatore Sam Samantha Samir Samira Samuel Sandeep Sandra Sanjay Sara Sarah Saskia Scarlett Scott
    Sean Sebastian Serena Sergei Sergio Seán Shabana Shahid Shakira Shannon Sharon Shaun Shauna Sheila
    Shirley Shona Siddharth Sienna Simon Simone Siobhan Siobhán Siân Sofia Sonia Sophia Sophie Stacey Stefan
    Stella Stephanie Stephen Steve Steven Stewart Stuart Sukhdeep Sukhwinder Sunil Sunita Susan Suzanne
    Sylvia Szymon Tamara Tamsin Tanya Tara Tariq Tatiana Terence Teresa Terry Tessa Theo Theodore Thomas Tia
    Tiffany Tim Timothy Tina Toby Tom Tomasz Tommy Toni Tony Tracey Tracy Trevor Tristan Troy Tyler Tyrone
    Umar Usman Valentina Vanessa Vasile Veronica Victor Victoria Vikram Viktor Vincent Vivek Wayne Wendy Wiktoria
    William Wojciech Xavier Yasmin Yasmine Yousef Yusuf Yvonne Zach Zachary Zahra Zain Zainab Zak Zara
    Zeynep Zoe Zofia Zoë Zuzanna Łukasz
    """
)

#: Surnames common here that are not also everyday words or places.
SURNAMES = _words(
    """
    Abbott Adeyemi Ahmed Akhtar Ali Anderson Andrews Armstrong Atkinson Bailey Barnes Barnett Begum Bennett
    Bibi Bradley Briggs Brooks Byrne Campbell Chapman Chaudhry Chowdhury Clarke Cole Collins Connolly
    Cooper Cunningham Davidson Davies Davis Dawson Dixon Doherty Edwards Ellis Evans Ferguson Fernandes
    Fitzgerald Fletcher Foster Francis Gallagher Garcia García Gibson Gonzalez Gordon Graham Griffiths Gupta
    Hamilton Harris Harrison Hart Hayes Henderson Hughes Hussain Iqbal Jackson Jenkins Johnson Johnston
    Jones Kaur Kelly Kennedy Khan Kowalczyk Kowalski Kumar Lewandowski Lewis Lloyd Lowe MacDonald Macdonald
    Mahmood Malik Martin Martinez Matthews McCarthy McDonald McLean Mclean Miah Mitchell Morris Murphy
    Murray Nowak Nwosu O'Brien O'Connor O'Neill Okafor Okonkwo Oliveira Owen Palmer Patel Pearson Perry
    Phillips Popescu Powell Quinn Rahman Reid Reynolds Richards Richardson Riley Roberts Robertson Robinson
    Rodrigues Rogers Ryan Santos Shah Sharma Simpson Singh Smith Stevens Stewart Sullivan Taylor
    Thomas Thompson Thomson Walsh Ward Watson Watts Webb Wilkinson Williams Williamson Wilson Wiśniewski
    Wright Wójcik Yilmaz
    """
)
