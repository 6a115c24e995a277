//! The calendar reader: dates as people and systems write them around the world,
//! normalised to ISO 8601 (`2026-03-03`), for the field readers (`field_readers`).
//!
//! One scanner, not a list of formats: the text becomes atoms (numbers, month
//! names in the languages of the largest web shops' customers, filler words,
//! punctuation, spaces), and a date is two or three components — day, month,
//! year — in one of the orders calendars use (year-month-day, day-month-year,
//! month-day-year), joined by the separators each convention uses. The formats
//! people write are products of a few such choices (order, separator, month as a
//! number or a name, two- or four-digit year, ordinal day, filler words, CJK
//! units), and a list of the products is never complete.
//!
//! Which order a numeric date uses (`3/4/2026`: day first or month first) is not
//! decided here: `order` is searched on the training examples like any reader.
//!
//! v22: written after the first measurement of the later4 extraction task (0.01:
//! its messages wrote `Nov-18-2026`, `21/Apr/2027`, `the 20th day of April, 2027`,
//! `2 Mar '26`, `20260123`, `2026年01月12日`), from the world's conventions rather than
//! that set's list; the list of conventions it knows is in `tests/optimize_readers.rs`.
//! It is measured on later5, written after it. After that measurement (its dates
//! were read but for "25.11."): a day and month with a dot after each, as German,
//! Polish or Czech write a date without its year.

/// Starlark, appended after `field_readers::FIELD_READERS_SOURCE` (it uses `_two`,
/// `_stem` and the currency marks): `_dates(text, default_year, order)` and
/// `_is_date_word(word)`.
pub const CALENDAR_DATES_SOURCE: &str = r##"
# The calendar reader (flowc's optimiser, src/optimize/calendar_dates.rs): a date
# is a day, a month and a year in one of the orders calendars use, joined by the
# separators each convention uses.
_MONTHS = {
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    # German, Dutch, Scandinavian
    "januar": 1, "januari": 1, "februar": 2, "februari": 2, "märz": 3, "maerz": 3,
    "maart": 3, "mrt": 3, "mars": 3, "mai": 5, "mei": 5, "juni": 6, "juli": 7,
    "augustus": 8, "oktober": 10, "okt": 10, "dezember": 12, "dez": 12,
    # French
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2,
    "avril": 4, "avr": 4, "juin": 6, "juillet": 7, "juil": 7, "août": 8,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
    "decembre": 12, "déc": 12,
    # Spanish, Portuguese, Italian (abbreviations that are English words — "set",
    # "ago", "gen" — are left out)
    "enero": 1, "ene": 1, "febrero": 2, "marzo": 3, "abril": 4, "abr": 4,
    "mayo": 5, "junio": 6, "julio": 7, "agosto": 8, "septiembre": 9,
    "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12, "dic": 12,
    "janeiro": 1, "fevereiro": 2, "março": 3, "marco": 3, "maio": 5, "junho": 6,
    "julho": 7, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6,
    "luglio": 7, "settembre": 9, "ottobre": 10, "dicembre": 12,
}
# Words that may stand between the parts of a date: "the 3rd of March",
# "March the 3rd", "the 20th day of April", "3 de marzo de 2026".
_DATE_FILLERS = ["the", "of", "day", "de", "del"]
# Letters written straight after a day number: "3rd", "1er", "2e", "1º".
_ORDINAL_SUFFIXES = ["st", "nd", "rd", "th", "er", "e", "º", "ª"]
# CJK dates: 2026年3月3日 (Chinese, Japanese), 2026년 3월 3일 (Korean).
_CJK_YEAR = ["年", "년"]
_CJK_MONTH = ["月", "월"]
_CJK_DAY = ["日", "일"]
_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

def _run_end(text, i, digits):
    # Where the run of digits (or of letters) starting at i ends.
    j = i
    for _ in range(len(text)):
        if j < len(text) and (text[j].isdigit() if digits else (text[j].isalpha() and not text[j].isdigit())):
            j += 1
        else:
            break
    return j

def _date_atoms(text):
    # [kind, value, digits, text] per atom: "num" (value, digit count; an
    # ordinal suffix or a CJK unit is eaten and noted in text), "month", "fill",
    # "word", "space", or "punct" (one character).
    atoms = []
    size = len(text)
    i = 0
    for _ in range(size):
        if i >= size:
            break
        c = text[i]
        if c.isdigit():
            j = _run_end(text, i, True)
            digits = text[i:j]
            tag = ""
            k = _run_end(text, j, False)
            letters = text[j:k].lower()
            if letters in _ORDINAL_SUFFIXES and len(digits) <= 2:
                tag = "ord"
                j = k
            elif letters in _CJK_YEAR:
                tag = "y"
                j = j + 1
            elif letters[:1] in _CJK_MONTH:
                tag = "m"
                j = j + 1
            elif letters[:1] in _CJK_DAY:
                tag = "d"
                j = j + 1
            atoms.append(["num", int(digits), len(digits), tag])
            i = j
        elif c.isalpha():
            j = _run_end(text, i, False)
            word = text[i:j].lower()
            if word in _MONTHS:
                atoms.append(["month", _MONTHS[word], 0, word])
            elif word in _DATE_FILLERS:
                atoms.append(["fill", 0, 0, word])
            else:
                atoms.append(["word", 0, 0, word])
            i = j
        elif c.isspace():
            if len(atoms) == 0 or atoms[-1][0] != "space":
                atoms.append(["space", 0, 0, " "])
            i += 1
        else:
            atoms.append(["punct", 0, 0, "'" if c in ["’", "‘"] else c])
            i += 1
    return atoms

def _connector(atoms, i):
    # What joins the component ending before atom i to the next one: [index of
    # the next component, punctuation, has spaces, has fillers], or None when a
    # word or the text's end comes first.
    punct = ""
    spaces = False
    fillers = False
    for j in range(i, min(len(atoms), i + 8)):
        kind = atoms[j][0]
        if kind == "num" or kind == "month":
            return [j, punct, spaces, fillers]
        if kind == "space":
            spaces = True
        elif kind == "fill":
            fillers = True
        elif kind == "punct":
            punct += atoms[j][3]
        else:
            return None
    return None

def _numeric_join(joint):
    # Between the numbers of an all-numeric date: one separator, no words;
    # spaces only after a dot ("2026. 3. 3.").
    if joint == None or joint[3]:
        return ""
    if joint[1] in ["-", "/", "."] and (not joint[2] or joint[1] == "."):
        return joint[1]
    return ""

def _named_join(joint):
    # Between the parts of a date with a month name: spaces, fillers and at most
    # a separator or two ("21/Apr/2027", "Mar. 3", "March 3, 2026", "3. März").
    if joint == None:
        return False
    return joint[1] in ["", "-", "/", ".", ",", ".,", "'", ",'", "-'", "/'"]

def _year_of(atom, joint, joined):
    # A year component: four digits, or two after an apostrophe ("'26") or
    # inside a date written without spaces ("01-Oct-26", "3/3/26").
    if atom[0] != "num" or atom[3] != "":
        return None
    if atom[2] == 4 and atom[1] >= 1900 and atom[1] <= 2199:
        return atom[1]
    if atom[2] == 2 and (joint[1].endswith("'") or joined):
        return 2000 + atom[1]
    return None

def _day_of(atom):
    if atom[0] == "num" and atom[2] <= 2 and atom[1] >= 1 and atom[1] <= 31 and atom[3] in ["", "ord", "d"]:
        return atom[1]
    return None

def _month_number(atom):
    if atom[0] == "num" and atom[2] <= 2 and atom[1] >= 1 and atom[1] <= 12 and atom[3] in ["", "m"]:
        return atom[1]
    return None

def _valid(year, month, day):
    if month == None or day == None or month < 1 or month > 12 or day < 1:
        return None
    if day > _DAYS_IN_MONTH[month - 1]:
        return None
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return None
    return "%d-%s-%s" % (year, _two(month), _two(day))

def _named_date(month, day, one, two, third, joined, default_year):
    # [ISO date, index after it] of a date whose month is a name: with the year
    # that follows it (`third`, after the joint `two`), else in `default_year`.
    if third != None and _named_join(two):
        year = _year_of(third, two, joined)
        if year != None:
            date = _valid(year, month, day)
            if date != None:
                return [date, two[0] + 1]
    date = _valid(default_year, month, day)
    if date != None:
        return [date, one[0] + 1]
    return None

def _date_here(atoms, i, default_year, order):
    # [ISO date, index after it] for a date starting at atom i, or None.
    first = atoms[i]
    one = _connector(atoms, i + 1)
    second = atoms[one[0]] if one != None else None
    two = _connector(atoms, one[0] + 1) if one != None else None
    third = atoms[two[0]] if two != None else None
    # 20260303: the basic ISO 8601 form.
    if first[0] == "num" and first[2] == 8 and first[3] == "":
        year = first[1] // 10000
        if year >= 1900 and year <= 2199:
            date = _valid(year, (first[1] // 100) % 100, first[1] % 100)
            if date != None:
                return [date, i + 1]
    # 2026年3月3日, 2026년 3월 3일; 3月3日
    if first[0] == "num" and first[3] == "y" and second != None and second[3] == "m" and third != None and third[3] == "d":
        date = _valid(first[1], second[1], third[1])
        if date != None:
            return [date, two[0] + 1]
    if first[0] == "num" and first[3] == "m" and second != None and second[3] == "d":
        date = _valid(default_year, first[1], second[1])
        if date != None:
            return [date, one[0] + 1]
    if first[0] == "num" and first[3] == "" and first[2] == 4 and second != None and third != None:
        # 2026-03-03, 2026/3/3, 2026.03.03, 2026-Mar-03, 2026 March 3
        year = _year_of(first, one, True)
        if year != None:
            join = _numeric_join(one)
            if second[0] == "num" and join != "" and _numeric_join(two) == join:
                date = _valid(year, _month_number(second), _day_of(third))
                if date != None:
                    return [date, two[0] + 1]
            if second[0] == "month" and _named_join(one) and _named_join(two):
                date = _valid(year, second[1], _day_of(third))
                if date != None:
                    return [date, two[0] + 1]
    if first[0] == "num" and second != None and second[0] == "num":
        # 03/03/2026, 3.3.26, 03-03-2026: day and month in the order given;
        # 3/3 without a year.
        join = _numeric_join(one)
        if join != "" and first[3] == "" and second[3] == "":
            a = first[1] if first[2] <= 2 else None
            b = second[1] if second[2] <= 2 else None
            day, month = (b, a) if order == "mdy" else (a, b)
            if third != None and _numeric_join(two) == join and a != None and b != None:
                year = _year_of(third, two, not two[2])
                if year != None:
                    date = _valid(year, month, day)
                    if date != None:
                        return [date, two[0] + 1]
            # 3/3, and 25.11. (day and month with a dot after each, as German,
            # Polish or Czech write a date without its year)
            # (not "1.2.3", a version: the dot after the month ends the number)
            dotted = join == "." and one[0] + 1 < len(atoms) and atoms[one[0] + 1][0] == "punct" and atoms[one[0] + 1][3] == "." and (one[0] + 2 >= len(atoms) or atoms[one[0] + 2][0] != "num")
            if (join == "/" or dotted) and a != None and b != None and (third == None or _numeric_join(two) != join or dotted):
                date = _valid(default_year, month, day)
                if date != None:
                    return [date, one[0] + 1]
    if first[0] == "num" and second != None and second[0] == "month" and _named_join(one):
        # 3 March 2026, 3rd of March, 18-Nov-2026, 21/Apr/2027, 03MAR26,
        # the 20th day of April, 2027, 3 de marzo de 2026, 2 Mar '26
        day = _day_of(first)
        if day != None:
            found = _named_date(second[1], day, one, two, third, not one[2] and not two[2] and one[1] == two[1], default_year)
            if found != None:
                return found
    if first[0] == "month" and second != None and second[0] == "num" and _named_join(one):
        # March 3, 2026; Mar. 3; Nov-18-2026; March the 3rd; Mar 3 '26
        day = _day_of(second)
        if day != None and second[2] <= 2:
            found = _named_date(first[1], day, one, two, third, not one[2] and not two[2] and one[1] == two[1] and one[1] != "", default_year)
            if found != None:
                return found
    return None

def _currency_near(atoms, start, end):
    # A currency mark just before the start or just after the end of a numeric
    # date: then it is money ("€12.05", "26.06 bucks").
    before = start - 1
    if before >= 0 and atoms[before][0] == "space":
        before -= 1
    if before >= 0 and atoms[before][3] in _CURRENCY_BEFORE:
        return True
    after = end
    if after < len(atoms) and atoms[after][0] == "space":
        after += 1
    return after < len(atoms) and _stem(atoms[after][3]) in _CURRENCY_AFTER

def _dates(text, default_year, order):
    atoms = _date_atoms(text)
    found = []
    i = 0
    n = len(atoms)
    for _ in range(n):
        if i >= n:
            break
        if atoms[i][0] != "num" and atoms[i][0] != "month":
            i += 1
            continue
        # A number glued to a word before it is part of that word ("A-1043" is
        # an id, "x2" a count), not the start of a date.
        if atoms[i][0] == "num" and i > 0 and (atoms[i - 1][0] == "word" or (atoms[i - 1][0] == "punct" and atoms[i - 1][3] == "-" and i > 1 and atoms[i - 2][0] == "word")):
            i += 1
            continue
        here = _date_here(atoms, i, default_year, order)
        if here == None:
            i += 1
            continue
        numeric = all([atoms[k][0] != "month" for k in range(i, here[1])])
        if numeric and _currency_near(atoms, i, here[1]):
            i = here[1]
            continue
        found.append(here[0])
        i = here[1]
    return found

def _is_date_word(word):
    # A whole word that is a date ("Nov-18-2026", "21/Apr/2027", "20260303") or
    # a timestamp is not an id.
    atoms = _date_atoms(word)
    if len(atoms) == 0:
        return False
    here = _date_here(atoms, 0, 2000, "dmy")
    if here == None:
        return False
    # "2027-06-13T14": an ISO 8601 timestamp cut at its first ":".
    return here[1] >= len(atoms) or (atoms[here[1]][0] == "word" and atoms[here[1]][3].startswith("t"))
"##;
