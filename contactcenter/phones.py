"""Phone numbers: read as people write them, stored in E.164 for matching."""

import phonenumbers


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, region: str) -> str:
    """“01 23 45 67 89” and “+33 1 23 45 67 89” (region FR) both give “+33123456789”.

    Raises InvalidPhone for anything that is not a valid number: never a silent guess.
    """
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(raw) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
