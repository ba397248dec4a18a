"""Phone numbers: read as people write them, stored in E.164 for matching.

`to_e164()` is phonenumbers itself (~25 µs a number). `PhoneReader` gives the same verdicts
several times faster for imports: numbers written in the region's own national form
(`01 23 45 67 89`) or international form (`+33 1 23 45 67 89`, `0033 …`) are split with a
regular expression, and their validity is cached per country code, national prefix and
length — phonenumbers' validity patterns constrain only the first digits of a number (for
France the first five at most), so numbers sharing those get the same verdict. Anything
else (extensions, other countries, letters…) goes to phonenumbers.
"""

from __future__ import annotations

import re

import phonenumbers

# What people put between digits; deleted with str.translate (as fast as a regex's sub).
SEPARATORS = str.maketrans("", "", " \t.-/()\u00a0\u202f")
# How many trailing digits the validity cache ignores; see the module docstring. Only numbers
# of at least SHORTEST_CACHED digits take the cache: short numbers (Dutch 14xxx service codes,
# say) have patterns down to their last digit.
FREE_TAIL = 4
SHORTEST_CACHED = 9
# Spaces French typography puts between digit pairs; phonenumbers itself refuses them.
WIDE_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\t": " "})


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, region: str) -> str:
    """“01 23 45 67 89” and “+33 1 23 45 67 89” (region FR) both give “+33123456789”.

    Raises InvalidPhone for anything that is not a valid number: never a silent guess.
    """
    try:
        number = phonenumbers.parse(raw.translate(WIDE_SPACES), region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(raw) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneReader:
    """to_e164() for one region, fast on the forms that make up nearly every real file."""

    def __init__(self, region: str):
        self.region = region
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        # The fast path only where reading is plain: trunk prefix "0" dropped, nothing rewritten.
        plain = (
            metadata is not None
            and metadata.national_prefix == "0"
            and metadata.national_prefix_for_parsing in (None, "0")
            and metadata.national_prefix_transform_rule is None
        )
        self.country_code = str(metadata.country_code) if plain else None
        self.country_calling_code = metadata.country_code if plain else None
        # "00" starts an international number only where it is the region's own prefix.
        self.double_zero = plain and metadata.international_prefix == "00"
        # National number without its FREE_TAIL last digits → verdict. The prefix alone is the
        # key, its length giving the number's: a million-row import fills it with ~60,000
        # prefixes, 9 MB of the worker's memory as (prefix, length) tuples, 5 MB so.
        self._valid: dict[str, bool] = {}
        # The national significant number of a compact number written "+33…", "0033…" (where
        # "00" is the region's international prefix) or "0…": ASCII digits, no leading zero,
        # SHORTEST_CACHED to 15 digits. Anything else is phonenumbers' to judge.
        # Where the country code is the region's alone, validity is phonenumbers' own rule
        # (_number_type_helper: the general pattern, then any type's, each behind its possible
        # lengths) with its patterns compiled once: 35 us a number through is_valid_number,
        # for each of the ~60,000 prefixes a million-row import meets.
        self._types = None
        if (
            plain
            and phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code) == (region,)
            and metadata.general_desc.national_number_pattern
        ):
            self._general = _desc(metadata.general_desc)
            self._types = [
                _desc(desc)
                for desc in (
                    metadata.premium_rate,
                    metadata.toll_free,
                    metadata.shared_cost,
                    metadata.voip,
                    metadata.personal_number,
                    metadata.pager,
                    metadata.uan,
                    metadata.voicemail,
                    metadata.fixed_line,
                    metadata.mobile,
                )
                if desc is not None and desc.national_number_pattern
            ]
        self._plain = None
        if plain:
            prefixes = [rf"\+{self.country_code}", "0"]
            if self.double_zero:
                prefixes.insert(1, f"00{self.country_code}")
            self._plain = re.compile(
                rf"(?:{'|'.join(prefixes)})([1-9][0-9]{{{SHORTEST_CACHED - 1},14}})"
            ).fullmatch

    def _is_valid(self, national: str) -> bool:
        """phonenumbers.is_valid_number of +<country code><national>, for a plain region."""
        if self._types is None:
            # What parse("+" + country code + national) gives, built directly: the national
            # number has no trunk prefix to strip (see self._plain).
            number = phonenumbers.PhoneNumber(
                country_code=self.country_calling_code, national_number=int(national)
            )
            return phonenumbers.is_valid_number(number)
        length = len(national)
        general_lengths, general = self._general
        if (general_lengths and length not in general_lengths) or not general(national):
            return False
        return any(
            (not lengths or length in lengths) and matches(national)
            for lengths, matches in self._types
        )

    def e164(self, raw: str) -> str:
        # Spaces and dots first, by str.replace (a fifth of str.translate's cost): nearly every
        # number has no other separator. Any other leaves the regex unmatched, and translate
        # takes them all out.
        plain = self._plain and (
            self._plain(raw.replace(" ", "").replace(".", ""))
            or self._plain(raw.translate(SEPARATORS))
        )
        if not plain:
            return to_e164(raw, self.region)
        national = plain[1]
        key = national[:-FREE_TAIL]
        valid = self._valid.get(key)
        if valid is None:
            # What parse("+" + country code + national) gives, built directly (half the cost):
            # the national number has no trunk prefix to strip (see self._plain).
            valid = self._valid[key] = self._is_valid(national)
        if not valid:
            raise InvalidPhone(raw)
        return "+" + self.country_code + national


def _desc(desc) -> tuple[frozenset[int], object]:
    """A PhoneNumberDesc as (its possible lengths, the full match of its pattern)."""
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern).fullmatch
