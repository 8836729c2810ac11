"""The phrase banks and ad templates the synthetic generator draws from, kept apart from the logic.

Why a separate module: the texts are what reviewers need to read (are they non-explicit? do they carry
the indicator families the field documents?), and they grow independently of the sampling code. Every
text is our own invented wording; placeholders in braces (``{name}``, ``{city}``, ``{phone}``, ``{email}``,
``{handle}``, ``{pay}``) are filled in per post.

Four labels, matching the analysts' verdict vocabulary:

* ``trafficking`` — combinations of youth language, third-party control, restriction or coercion, cheap
  "specials" and an obfuscated contact (the combinations matter, a single indicator says little);
* ``labour_trafficking`` — job ads with travel debt, held passports, housing tied to the job,
  unrealistic pay for no experience, no days off;
* ``adult_no_indicators`` — adults advertising themselves in the first person: movement language,
  rates and screening, but no youth, coercion or third-party control (must not be flagged);
* ``benign`` — look-alikes from other walks of life ("young professionals", "fresh produce", IT "24/7
  support", florists' roses, licensed massage clinics, honest seasonal work abroad).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BANKS", "CITIES", "DISGUISABLE", "LABELS", "NAMES", "TEMPLATES", "TITLES", "Template"]

LABELS = ("trafficking", "labour_trafficking", "benign", "adult_no_indicators")


@dataclass(frozen=True, slots=True)
class Template:
    """An ad layout: slots in order, each included with a probability (1.0 = always)."""

    id: str
    label: str
    slots: tuple[tuple[str, float], ...]
    source: str


CITIES: tuple[tuple[str, str, str], ...] = (
    ("Denver", "CO", "US"), ("Phoenix", "AZ", "US"), ("Dallas", "TX", "US"), ("Houston", "TX", "US"),
    ("Atlanta", "GA", "US"), ("Chicago", "IL", "US"), ("Seattle", "WA", "US"), ("Portland", "OR", "US"),
    ("Miami", "FL", "US"), ("Orlando", "FL", "US"), ("Las Vegas", "NV", "US"), ("Boston", "MA", "US"),
    ("Nashville", "TN", "US"), ("Columbus", "OH", "US"), ("Detroit", "MI", "US"), ("Minneapolis", "MN", "US"),
    ("Sacramento", "CA", "US"), ("San Diego", "CA", "US"), ("Baltimore", "MD", "US"), ("Charlotte", "NC", "US"),
    ("Toronto", "ON", "CA"), ("Vancouver", "BC", "CA"), ("Calgary", "AB", "CA"), ("Ottawa", "ON", "CA"),
)

NAMES = (
    "Daisy", "Luna", "Ivy", "Jade", "Rosa", "Mia", "Nova", "Skye", "Lila", "Amber", "Coral", "Fern",
    "Hazel", "Iris", "Juniper", "Maple", "Opal", "Pearl", "Sage", "Willow", "Wren", "Zinnia",
)

# Words an evasive writer disguises; the generator spells some of them with a trick from obfuscate.py.
DISGUISABLE = frozenset({
    "young", "fresh", "new", "girl", "girls", "sweet", "little", "petite", "teen", "manager", "english",
    "daddy", "driver", "barely", "candy", "passport", "debt",
})

BANKS: dict[str, tuple[str, ...]] = {
    # --- trafficking -----------------------------------------------------------------------------
    "t_open": (
        "Hello gentlemen,", "New this week!", "Hi friends,", "Special announcement:", "Attention please,",
        "Welcome back,", "Just arrived:", "Tonight only:",
    ),
    "t_youth": (
        "sweet young girl just started", "fresh new face, first week working", "petite and very young looking",
        "little candy \U0001f36c new to this", "barely legal newcomer \U0001f352", "young girls \U0001f36d fresh in",
        "teen style sweetheart, brand new", "new girl just turned 18 \U0001f352", "young and fresh \U0001f497",
        "first time ever, very new",
    ),
    "t_control": (
        "ask for {name}, I book for her", "my girls are waiting", "we have 3 ladies ready tonight",
        "call the manager to book her", "daddy takes all bookings \U0001f451", "booking for my friend {name}",
        "text me and I bring her to you", "driver drops her off", "two girls available, I arrange everything",
        "her boyfriend handles the calls",
    ),
    "t_coercion": (
        "available 24/7", "no English, text only", "she cannot go out alone", "stays with us, never alone",
        "must be booked through me", "she does not keep her own phone", "works every day, no days off",
        "always available, any hour", "she does what she is told", "no questions, no breaks",
    ),
    "t_move": (
        "new in town", "only here until Friday", "visiting {city} for two days", "just arrived in {city}",
    ),
    "t_price": (
        "special \U0001f339\U0001f339 tonight only", "cheap special 80 roses", "two for one special",
        "discount for regulars \U0001f339", "low price, ask about specials",
    ),
    "t_contact": (
        "Call {phone}", "Text {phone}", "Contact: {phone}", "\U0001f4de {phone}", "msg {phone} ask for {name}",
        "WhatsApp {phone}", "reach us at {phone} or {handle}",
    ),
    # --- labour trafficking ---------------------------------------------------------------------
    "l_open": (
        "URGENT HIRING!", "Work abroad opportunity!", "Jobs available now!", "Agency recruiting:",
        "Big money jobs!", "Immediate start:",
    ),
    "l_job": (
        "Factory workers needed {where}", "Farm workers needed {where}", "Domestic helpers wanted {where}",
        "Hotel cleaners needed {where}", "Construction labourers wanted {where}",
        "Restaurant staff needed {where}", "Hostesses and models wanted {where}",
        "Fishing boat crew needed {where}", "Caregivers for elderly wanted {where}",
    ),
    "l_pay": (
        "No experience required, earn {pay} per month.", "Easy work, {pay} monthly guaranteed.",
        "Earn {pay} a month, no skills or language needed.", "Salary {pay} per month, start tomorrow.",
    ),
    "l_debt": (
        "We pay your flight, the cost is repaid from your wages.",
        "Travel and visa fee of 3,000 deducted from salary.",
        "Agency fee paid after arrival by working it off.",
        "Recruitment fee lent by us, you pay back monthly with interest.",
        "Transport debt cleared after one year of work.",
    ),
    "l_docs": (
        "Passport held by the employer during the contract.", "Agency keeps your ID documents safe.",
        "Hand in your passport on arrival.", "Documents will be kept by the company until the debt is paid.",
    ),
    "l_housing": (
        "Live in the worksite dormitory, housing tied to the job.",
        "Accommodation provided by the boss, you cannot change employer.",
        "Housing included, rent taken from pay.", "Must live in company housing, curfew at 9pm.",
    ),
    "l_control": (
        "No days off during the first 6 months.", "Do not tell family the details before you travel.",
        "Must work 7 days a week, 14 hours a day.", "You may leave only when the debt is paid.",
        "Phones are kept by the supervisor during work.",
    ),
    "l_contact": (
        "WhatsApp {phone} now.", "Call agent {phone}.", "Send your photo and age to {email}.",
        "Message {handle} or {phone}.", "Contact {phone}, ask for the agent.",
    ),
    # --- adults advertising themselves, no indicators --------------------------------------------
    "a_open": (
        "Hi, I'm {name}.", "Hello, {name} here.", "Hey gentlemen, it's {name}.", "{name}, independent companion.",
        "Good evening, my name is {name}.",
    ),
    "a_self": (
        "Independent, mature and friendly, I set my own schedule.",
        "I'm 31, easygoing and I love good conversation.",
        "Professional companion with many years of experience.",
        "Independent lady who values respect and discretion.",
        "I run my own bookings and choose my own company.",
        "Warm, witty and well travelled, I keep my own hours.",
        "Fresh photos this week, same easygoing me.", "New website, same independent lady.",
    ),
    "a_move": (
        "Visiting {city} this weekend only.", "On tour: {city} until Sunday, then home.",
        "Back in {city} for a few days.", "Travelling to {city} next week, book ahead.",
        "In {city} for a short stay.",
    ),
    "a_rates": (
        "Rates: 200 per hour, 350 for two.", "Donations 250/hr \U0001f339", "Rates on my website, deposit required.",
        "Hourly rate 180, dinner dates 400.", "Rates are firm, please do not haggle.",
    ),
    "a_screen": (
        "Screening required for new friends.", "References or ID screening, no exceptions.",
        "Please text first with your name and preferred time.", "Respectful gentlemen only.",
        "Advance notice appreciated.",
    ),
    "a_contact": (
        "Text me: {phone}", "Book at {email}", "Call or text {phone}", "Email {email} or text {phone}",
        "Find me as {handle} or text {phone}",
    ),
    # --- benign look-alikes ----------------------------------------------------------------------
    "b_yp": (
        "Young professionals wanted! Our {city} office is hiring sales associates.",
        "Calling young professionals: our {city} team is growing.",
        "Fresh graduates and young professionals welcome at our {city} branch.",
    ),
    "b_yp2": (
        "Full training, salary plus benefits, hybrid work.", "Competitive pay, dental and vision, 401k match.",
        "Mentoring programme and paid holidays from day one.",
    ),
    "b_produce": (
        "Fresh produce every morning at the {city} farmers market:",
        "New season arrivals at our {city} farm stand:", "Fresh from the farm this week in {city}:",
    ),
    "b_produce2": (
        "cherries \U0001f352, sweet corn and candy apples \U0001f36c for the kids.",
        "strawberries, young carrots and fresh herbs.", "new potatoes, little gem lettuce and peaches \U0001f351.",
    ),
    "b_it": (
        "24/7 IT support for small businesses in {city}.", "Round the clock tech help in {city}, available 24/7.",
        "Managed IT services for {city} offices, 24/7 monitoring.",
    ),
    "b_it2": (
        "New clients get a free network check.", "Fresh installs, backups and virus removal.",
        "No job too small, fixed monthly price.",
    ),
    "b_florist": (
        "Fresh roses \U0001f339 delivered anywhere in {city}.", "Our {city} flower shop has new arrivals \U0001f339.",
        "Roses and tulips, fresh every Friday in {city}.",
    ),
    "b_florist2": (
        "A dozen roses for $40.", "Wedding and event bouquets on request.", "Same-day delivery before 3pm.",
    ),
    "b_nanny": (
        "Experienced nanny (10 years, CPR certified) looking for a family in {city}.",
        "Reliable babysitter available evenings in {city}, references on request.",
        "Retired teacher offering after-school tutoring in {city}.",
    ),
    "b_room": (
        "New in town? Room for rent near downtown {city}.", "Sunny room available in shared house, {city}.",
        "Looking for a roommate in {city}, quiet building.",
    ),
    "b_room2": (
        "Young professionals or students welcome, $700/month, utilities included.",
        "Lease in your own name, deposit one month.", "Close to the bus line and the university.",
    ),
    "b_massage": (
        "Licensed massage therapy clinic in {city}.", "Registered massage therapists, {city} wellness centre.",
        "Sports and relaxation massage at our {city} clinic.",
    ),
    "b_massage2": (
        "Insurance accepted, open 9am to 7pm.", "Book online, gift cards available.",
        "Physiotherapy referrals welcome.",
    ),
    "b_job": (
        "Warehouse associates needed in {city}: $19/hour, weekly pay, paid time off.",
        "Seasonal farm work near {city}, $17/hour, optional employer housing at cost, no recruitment fees.",
        "Restaurant in {city} hiring hosts and servers, $15/hour plus tips, flexible hours.",
        "Hotel housekeeping staff wanted in {city}, union wages, benefits after 60 days.",
        "Home care aides needed in {city}, paid training, mileage covered.",
    ),
    "b_job2": (
        "We never charge fees and never hold documents.", "Apply online, interviews this week.",
        "Equal opportunity employer.", "Bring two references to the interview.",
    ),
    "b_sale": (
        "2015 sedan for sale in {city}, one owner, new tires, $7,500.",
        "Moving sale in {city}: sofa, desk and little bookshelf, everything must go.",
        "Kids bike, barely used, $60, pick up in {city}.",
        "Fresh eggs from our hens, $4 a dozen, {city} east side.",
    ),
    "b_family": (
        "Fundraiser: my girls' soccer team sells candy bars \U0001f36c at the {city} library on Saturday.",
        "Babysitter needed for two little girls, weekday evenings in {city}.",
        "Sweet sixteen party hall for rent in {city}, young guests welcome, booking for summer now.",
        "Teen summer camp in {city}: new activities, fresh air, caring counsellors.",
    ),
    "b_gym": (
        "New year special at our {city} gym: 24/7 access for members.",
        "Yoga for all ages in {city}, young and old welcome.", "Open 24/7 laundromat now in {city}.",
    ),
    "b_contact": (
        "Call {phone}.", "Email {email}.", "Details: {phone} or {email}.", "Questions? {email}",
        "Text {phone} for an appointment.",
    ),
}

_T, _L, _A, _B = "trafficking", "labour_trafficking", "adult_no_indicators", "benign"
_ESC, _JOB, _CLS = "personals.example", "jobs.example", "classifieds.example"

TEMPLATES: dict[str, tuple[Template, ...]] = {
    _T: (
        Template("traf.menu", _T, (("t_open", 0.7), ("t_youth", 1), ("t_control", 1), ("t_coercion", 0.8),
                                   ("t_price", 0.5), ("t_contact", 1)), _ESC),
        Template("traf.manager", _T, (("t_control", 1), ("t_youth", 1), ("t_coercion", 1), ("t_move", 0.3),
                                      ("t_contact", 1)), _ESC),
        Template("traf.special", _T, (("t_price", 1), ("t_youth", 1), ("t_coercion", 1), ("t_control", 0.6),
                                      ("t_contact", 1)), _ESC),
        Template("traf.arrival", _T, (("t_open", 1), ("t_youth", 1), ("t_move", 0.6), ("t_control", 1),
                                      ("a_rates", 0.3), ("t_contact", 1)), _ESC),
        # Written to pass as an independent adult's ad: only youth language and a hidden contact give it
        # away (both predictive in the 2024 case-outcome study).
        Template("traf.subtle", _T, (("a_open", 1), ("t_youth", 1), ("a_rates", 0.8), ("a_screen", 0.5),
                                     ("t_contact", 1)), _ESC),
    ),
    _L: (
        Template("labour.abroad", _L, (("l_open", 1), ("l_job", 1), ("l_pay", 1), ("l_debt", 1), ("l_docs", 0.7),
                                       ("l_contact", 1)), _JOB),
        Template("labour.housing", _L, (("l_job", 1), ("l_pay", 1), ("l_housing", 1), ("l_control", 0.8),
                                        ("l_contact", 1)), _JOB),
        Template("labour.debt", _L, (("l_open", 0.6), ("l_job", 1), ("l_debt", 1), ("l_housing", 0.6),
                                     ("l_control", 1), ("l_contact", 1)), _CLS),
        # Looks like an ordinary job ad; the unrealistic pay and one restriction are the only signs.
        Template("labour.subtle", _L, (("l_job", 1), ("l_pay", 1), ("b_job2", 0.4), ("l_control", 0.5),
                                       ("l_contact", 1)), _JOB),
    ),
    _A: (
        Template("adult.tour", _A, (("a_open", 1), ("a_self", 1), ("a_move", 1), ("a_rates", 0.8),
                                    ("a_screen", 0.7), ("a_contact", 1)), _ESC),
        Template("adult.home", _A, (("a_open", 1), ("a_self", 1), ("a_rates", 1), ("a_screen", 1),
                                    ("a_contact", 1)), _ESC),
        Template("adult.brief", _A, (("a_self", 1), ("a_move", 0.5), ("a_contact", 1)), _ESC),
        Template("adult.arrival", _A, (("a_open", 1), ("t_move", 1), ("a_self", 1), ("a_rates", 0.6),
                                       ("a_contact", 1)), _ESC),
    ),
    _B: (
        Template("benign.young_professionals", _B, (("b_yp", 1), ("b_yp2", 1), ("b_contact", 1)), _JOB),
        Template("benign.produce", _B, (("b_produce", 1), ("b_produce2", 1), ("b_contact", 0.7)), _CLS),
        Template("benign.it_support", _B, (("b_it", 1), ("b_it2", 1), ("b_contact", 1)), _CLS),
        Template("benign.florist", _B, (("b_florist", 1), ("b_florist2", 1), ("b_contact", 1)), _CLS),
        Template("benign.nanny", _B, (("b_nanny", 1), ("b_contact", 1)), _CLS),
        Template("benign.room", _B, (("b_room", 1), ("b_room2", 1), ("b_contact", 1)), _CLS),
        Template("benign.massage_clinic", _B, (("b_massage", 1), ("b_massage2", 1), ("b_contact", 1)), _CLS),
        Template("benign.job", _B, (("b_job", 1), ("b_job2", 1), ("b_contact", 1)), _JOB),
        Template("benign.sale", _B, (("b_sale", 1), ("b_contact", 1)), _CLS),
        Template("benign.gym", _B, (("b_gym", 1), ("b_contact", 0.8)), _CLS),
        Template("benign.family", _B, (("b_family", 1), ("b_contact", 1)), _CLS),
    ),
}

TITLES: dict[str, tuple[str, ...]] = {
    _T: ("New girls in town", "Sweet and young \U0001f352", "Specials tonight", "Ask for her",
         "Fresh faces \U0001f451"),
    _L: ("Jobs abroad, high pay", "Hiring now, travel paid", "Work visa jobs", "Easy work big money"),
    _A: ("Independent companion", "Visiting this weekend", "Dinner dates", "Back in town"),
    _B: ("For sale", "Hiring", "Services", "Room available", "This week only", "New arrivals"),
}
