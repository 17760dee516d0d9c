import re

import pytest

from payments.sibs.errors import (
    CATALOGUE,
    ErrorFamily,
    ErrorOwner,
    describe,
    error_family,
    normalise_language,
)

# Seed 004, "Multibanco" table, verbatim: code, message to the merchant, message to the client,
# owner, what to do.
SEED_004_MULTIBANCO = [
    (
        "10.107.0001",
        "Invalid payment entity",
        "Entity not valid, Try again later.",
        "Merchant",
        "Please verify that the correct Merchant entity is being used.",
    ),
    (
        "10.107.0002",
        "Invalid reference minimum amount",
        "Invalid reference minimum, amount please try again.",
        "Merchant",
        "Please verify the parameterization in the amount",
    ),
    (
        "10.107.0003",
        "Invalid reference maximum amount",
        "Invalid reference maximum amount please try again.",
        "Merchant",
        "Please verify the parameterization in the amount",
    ),
    (
        "10.107.0004",
        "Invalid currency",
        "Invalid currency try again.",
        "Merchant",
        "Please verify the parameterization in the currency accepted",
    ),
    (
        "10.107.0005",
        "Invalid NIB",
        "Invalid NIB please try again.",
        "Client",
        "Please verify you are using the correct NIB",
    ),
    (
        "10.107.0006",
        "Invalid reference initial date time",
        "Invalid reference initial date time try again.",
        "Merchant",
        "Please verify the parameterization in time accepted",
    ),
    (
        "10.107.0007",
        "Invalid reference limit date time",
        "Invalid reference limit date time try again.",
        "Merchant",
        "Please verify the parameterization in time accepted",
    ),
    (
        "10.107.0008",
        "Invalid Email",
        "Invalid Email try again.",
        "Client",
        "Please insert the email used on the registration",
    ),
    (
        "10.107.0009",
        "Payment entity is not active",
        "Payment entity is not active, try later",
        "Merchant",
        "Please verify your entity, if it is the one in the SLA",
    ),
    (
        "10.107.0010",
        "Reference generation not allowed for the payment entity",
        "Reference generation not allowed try later.",
        "Merchant",
        "Please verify your entity, if it is the one in the SLA",
    ),
    (
        "10.107.0011",
        "Payment reference not found",
        "SIBS Internal error, Please try again later.",
        "SIBS",
        "SIBS Internal error, Please try again later.",
    ),
    (
        "10.107.0012",
        "Payment reference is cancelled",
        "Payment reference is cancelled.",
        "Merchant",
        "Please verify your reference was cancelled.",
    ),
    (
        "10.107.0013",
        "Payment reference already paid",
        "Payment reference already paid.",
        "Merchant",
        "Please verify your reference is already paid.",
    ),
    (
        "10.107.0014",
        "Invalid operation",
        "Invalid operation, try later.",
        "SIBS",
        "SIBS Internal error, Please try again later.",
    ),
    (
        "90.000.0001",
        "Exception",
        "SIBS Technical Issue try again later",
        "SIBS",
        "Please try Again or later \u2013 Issue to be solved by SIBS",
    ),
    (
        "90.000.0003",
        "Error in message format",
        "SIBS Technical Issue try again later",
        "SIBS",
        "Please try Again or later \u2013 Issue to be solved by SIBS",
    ),
]

PROTOCOL_CODES = [
    "000",
    "E0101",
    "E0119",
    "E0507",
    "E0612",
    "T9999",
    *(f"12.110.{n}" for n in range(1201, 1207)),
    *(f"12.110.{n}" for n in range(1301, 1305)),
    "00.110.1601",
    "10.106.0001",
    "01.106.0004",
    "10.106.2662",
]

# Words that would give away Brazilian Portuguese.
PT_BR_MARKERS = re.compile(
    r"\b(você|contate|usuário|cadastro|registro|tela|celular|arquivo|ônibus|equipe|econômico)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize(("code", "merchant", "client", "owner", "action"), SEED_004_MULTIBANCO)
def test_every_multibanco_code_of_the_seed_is_catalogued_verbatim(code, merchant, client, owner, action):
    info = describe(code, language="en")

    assert info.catalogued
    assert info.code == code
    assert (info.merchant_message, info.client_message, info.action) == (merchant, client, action)
    assert info.owner is ErrorOwner(owner.lower())


@pytest.mark.parametrize("code", [row[0] for row in SEED_004_MULTIBANCO] + PROTOCOL_CODES)
def test_every_catalogued_code_exists_in_both_languages(code):
    english = describe(code, language="en")
    portuguese = describe(code, language="pt-PT")

    assert english.catalogued and portuguese.catalogued
    assert portuguese.language == "pt-PT"
    for text in (english.merchant_message, english.client_message, english.action):
        assert text.strip()
    for text in (portuguese.merchant_message, portuguese.client_message, portuguese.action):
        assert text.strip()
        assert not PT_BR_MARKERS.search(text), text
    assert portuguese.client_message != english.client_message
    assert portuguese.action != english.action


def test_catalogue_holds_exactly_the_seed_and_protocol_codes():
    assert set(CATALOGUE) == {row[0] for row in SEED_004_MULTIBANCO} | set(PROTOCOL_CODES)


def test_portuguese_reads_like_portugal():
    assert describe("10.107.0001", language="pt-PT").client_message == (
        "Entidade inválida. Tente novamente mais tarde."
    )
    assert "contacte" in describe("12.110.1203", language="pt").action
    assert "referência" in describe("E0612", language="pt-PT").client_message


@pytest.mark.parametrize(
    ("code", "family"),
    [
        ("000", ErrorFamily.SUCCESS),
        ("E0101", ErrorFamily.API_REQUEST),
        ("E0999", ErrorFamily.API_REQUEST),
        ("T9999", ErrorFamily.TEMPORARY),
        ("T0001", ErrorFamily.TEMPORARY),
        ("10.107.0001", ErrorFamily.MULTIBANCO),
        ("10.107.9999", ErrorFamily.MULTIBANCO),
        ("10.106.1234", ErrorFamily.MBWAY),
        ("01.106.9999", ErrorFamily.MBWAY),
        ("12.110.1299", ErrorFamily.CHECKOUT_REQUEST),
        ("12.110.1399", ErrorFamily.PAYMENT_REQUEST),
        ("00.110.1699", ErrorFamily.GATEWAY),
        ("12.110.1499", ErrorFamily.GATEWAY),
        ("10.108.0001", ErrorFamily.PAYMENT_METHOD),
        ("90.000.0002", ErrorFamily.SIBS_TECHNICAL),
        ("90.123.4567", ErrorFamily.SIBS_TECHNICAL),
        ("55.555.5555", ErrorFamily.UNKNOWN),
        ("100.380.501", ErrorFamily.UNKNOWN),  # a v1/ACI code
        ("garbage", ErrorFamily.UNKNOWN),
        ("", ErrorFamily.UNKNOWN),
        (None, ErrorFamily.UNKNOWN),
    ],
)
def test_family_is_read_from_the_shape(code, family):
    assert error_family(code) is family


@pytest.mark.parametrize(
    ("code", "family", "owner", "retry"),
    [
        ("10.107.9999", ErrorFamily.MULTIBANCO, ErrorOwner.UNKNOWN, False),
        ("10.106.7777", ErrorFamily.MBWAY, ErrorOwner.UNKNOWN, False),
        ("12.110.1250", ErrorFamily.CHECKOUT_REQUEST, ErrorOwner.MERCHANT, False),
        ("90.999.0001", ErrorFamily.SIBS_TECHNICAL, ErrorOwner.SIBS, True),
        ("T1234", ErrorFamily.TEMPORARY, ErrorOwner.SIBS, True),
        ("Z", ErrorFamily.UNKNOWN, ErrorOwner.UNKNOWN, False),
    ],
)
def test_unknown_codes_get_a_generic_message_of_their_family(code, family, owner, retry):
    for language in ("en", "pt-PT"):
        info = describe(code, language=language)

        assert not info.catalogued
        assert info.code == code
        assert info.family is family
        assert info.owner is owner
        assert info.retry_later is retry
        assert info.merchant_message and info.client_message and info.action
    assert "not catalogued" in describe(code).merchant_message or family is ErrorFamily.UNKNOWN
    assert describe(code, language="pt-PT").merchant_message != describe(code).merchant_message


def test_generic_multibanco_and_mbway_texts_name_the_method():
    assert "MULTIBANCO" in describe("10.107.0099", language="pt-PT").client_message
    assert "MB WAY" in describe("01.106.0099", language="pt-PT").client_message


@pytest.mark.parametrize("code", [None, "", "  ", 0, 12.5, "E", "000 ", "\x00", "10.107.0001.1", "x" * 10_000])
def test_describe_never_raises(code):
    info = describe(code, language="xx")  # type: ignore[arg-type]
    assert info.language == "en"


def test_codes_are_normalised():
    info = describe("  e0101\n", language="pt")
    assert info.code == "E0101"
    assert info.catalogued
    assert info.language == "pt-PT"
    assert describe("000 ").is_success


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("pt", "pt-PT"),
        ("pt-PT", "pt-PT"),
        ("pt_pt", "pt-PT"),
        ("PT-pt", "pt-PT"),
        ("pt-BR", "pt-PT"),
        ("fr", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_normalise_language(language, expected):
    assert normalise_language(language) == expected


def test_success_code():
    info = describe("000", language="pt-PT")
    assert info.is_success
    assert info.owner is ErrorOwner.NONE
    assert not describe("E0101").is_success
