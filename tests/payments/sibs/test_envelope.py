import base64
import json

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from payments.sibs import envelope
from payments.sibs.envelope import (
    IV_HEADER,
    TAG_HEADER,
    AuthenticationFailedError,
    BadBase64Error,
    BadIVError,
    BadSecretError,
    BadTagError,
    EmptyBodyError,
    EnvelopeError,
    MissingHeaderError,
    NoSecretsError,
    decode_secret,
    decrypt,
    decrypt_request,
    encrypt,
    generate_secret,
)
from tests.payments.sibs.helpers import example_bytes

# A fixed key so failures are reproducible; never a real secret.
KEY = bytes(range(32))
SECRET = base64.b64encode(KEY).decode()
OTHER_SECRET = base64.b64encode(bytes(range(100, 132))).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def seal_independently(plaintext: bytes, *, key: bytes, iv: bytes) -> tuple[str, str, str]:
    """Encrypt the SIBS way with cryptography's low-level Cipher API — not our encrypt()."""
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return b64(ciphertext), b64(iv), b64(encryptor.tag)


def open_independently(body: str, iv: str, tag: str, *, key: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.GCM(base64.b64decode(iv), base64.b64decode(tag))).decryptor()
    return decryptor.update(base64.b64decode(body)) + decryptor.finalize()


def flip_bit(text: str, index: int = 0) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[index] ^= 0x01
    return b64(bytes(raw))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("size", [1, 15, 16, 17, 255, 4096, 100_000])
def test_round_trip_for_several_payload_sizes(size):
    # given
    plaintext = bytes(index % 251 for index in range(size))

    # when
    sealed = encrypt(plaintext, secret=SECRET)
    result = decrypt(body=sealed.body, iv=sealed.iv, tag=sealed.tag, secrets=[SECRET])

    # then
    assert result.plaintext == plaintext
    assert result.secret_index == 0


def test_round_trip_of_unicode_text():
    text = '{"merchantName": "Teste Referências, Lda", "city": "São João", "sign": "€ ✓ 🙂"}'

    sealed = encrypt(text, secret=SECRET)
    result = decrypt(body=sealed.body, iv=sealed.iv, tag=sealed.tag, secrets=[SECRET])

    assert result.plaintext.decode("utf-8") == text


def test_round_trip_of_every_seed_example_with_a_raw_key():
    for number in range(3, 19):
        plaintext = example_bytes(number)
        sealed = encrypt(plaintext, secret=KEY)
        assert decrypt(body=sealed.body.encode(), iv=sealed.iv, tag=sealed.tag, secrets=[KEY]).plaintext == (plaintext)


def test_encrypt_produces_the_sibs_layout():
    # when
    sealed = encrypt(b"hello SIBS", secret=SECRET)

    # then: 12-byte IV, 16-byte tag kept apart, body = ciphertext only (GCM keeps the length)
    assert len(base64.b64decode(sealed.iv, validate=True)) == 12
    assert len(base64.b64decode(sealed.tag, validate=True)) == 16
    assert len(base64.b64decode(sealed.body, validate=True)) == len(b"hello SIBS")
    assert sealed.headers() == {IV_HEADER: sealed.iv, TAG_HEADER: sealed.tag}
    assert set(sealed.headers()) == {"X-Initialization-Vector", "X-Authentication-Tag"}


def test_encrypt_uses_a_fresh_iv_every_time():
    ivs = {encrypt(b"same", secret=SECRET).iv for _ in range(50)}
    assert len(ivs) == 50


def test_encrypt_output_opens_with_independent_primitives():
    sealed = encrypt(b'{"notificationID": "x"}', secret=SECRET)
    assert open_independently(sealed.body, sealed.iv, sealed.tag, key=KEY) == b'{"notificationID": "x"}'


def test_encrypt_refuses_an_empty_plaintext():
    with pytest.raises(ValueError, match="empty"):
        encrypt(b"", secret=SECRET)


def test_known_answer_computed_independently():
    # given: a message sealed by cryptography's Cipher API with a fixed key and IV
    plaintext = example_bytes(3)
    iv = bytes.fromhex("cafebabefacedbaddecaf888")
    body, iv_b64, tag = seal_independently(plaintext, key=KEY, iv=iv)

    # when
    result = decrypt(body=body, iv=iv_b64, tag=tag, secrets=[SECRET])

    # then
    assert result.plaintext == plaintext


def test_published_gcm_test_vector():
    # Test Case 14 of McGrew & Viega, "The Galois/Counter Mode of Operation" (AES-256, zero key,
    # zero 96-bit IV, one zero block, no AAD), split the SIBS way: ciphertext in the body, tag
    # in its own header.
    body = b64(bytes.fromhex("cea7403d4d606b6e074ec5d3baf39d18"))
    tag = b64(bytes.fromhex("d0d1c8a799996bf0265b98b5d48ab919"))

    result = decrypt(body=body, iv=b64(bytes(12)), tag=tag, secrets=[bytes(32)])

    assert result.plaintext == bytes(16)


@pytest.mark.parametrize("iv_length", [8, 12, 16, 32, 128])
def test_any_supported_iv_length_decodes(iv_length):
    iv = bytes(range(iv_length))
    body, iv_b64, tag = seal_independently(b'{"a": 1}', key=KEY, iv=iv)

    assert decrypt(body=body, iv=iv_b64, tag=tag, secrets=[SECRET]).plaintext == b'{"a": 1}'


@pytest.mark.parametrize("iv_length", [1, 7, 129, 200])
def test_unusable_iv_lengths_are_rejected(iv_length):
    sealed = encrypt(b"x", secret=SECRET)

    with pytest.raises(BadIVError) as caught:
        decrypt(body=sealed.body, iv=b64(bytes(iv_length)), tag=sealed.tag, secrets=[SECRET])

    assert caught.value.code == "bad_iv"
    assert str(iv_length) in str(caught.value)


# --------------------------------------------------------------------------- secrets


def test_several_secrets_where_the_second_is_right():
    # given: rotation in progress — new secret first, old one second
    sealed = encrypt(b"payload", secret=SECRET)

    # when
    result = decrypt(body=sealed.body, iv=sealed.iv, tag=sealed.tag, secrets=[OTHER_SECRET, SECRET])

    # then
    assert result.plaintext == b"payload"
    assert result.secret_index == 1


def test_secrets_may_mix_base64_text_and_raw_bytes():
    sealed = encrypt(b"payload", secret=SECRET)
    result = decrypt(body=sealed.body, iv=sealed.iv, tag=sealed.tag, secrets=[bytes(32), OTHER_SECRET, KEY])
    assert result.secret_index == 2


def test_wrong_key_fails_authentication():
    sealed = encrypt(b"payload", secret=SECRET)

    with pytest.raises(AuthenticationFailedError) as caught:
        decrypt(body=sealed.body, iv=sealed.iv, tag=sealed.tag, secrets=[OTHER_SECRET, generate_secret()])

    assert caught.value.code == "authentication_failed"
    assert caught.value.attempts == 2
    assert "2 configured secrets" in str(caught.value)


@pytest.mark.parametrize("part", ["body", "iv", "tag"])
def test_tampering_with_any_part_fails_authentication(part):
    sealed = encrypt(b'{"amount": {"value": "16.20"}}', secret=SECRET)
    parts = {"body": sealed.body, "iv": sealed.iv, "tag": sealed.tag}
    parts[part] = flip_bit(parts[part], index=3)

    with pytest.raises(AuthenticationFailedError):
        decrypt(**parts, secrets=[SECRET])


def test_tag_appended_to_the_body_is_not_the_sibs_layout():
    # A sender using the usual "ciphertext || tag" layout in the body must not be accepted
    # by accident.
    sealed = encrypt(b"payload", secret=SECRET)
    body = b64(base64.b64decode(sealed.body) + base64.b64decode(sealed.tag))

    with pytest.raises(AuthenticationFailedError):
        decrypt(body=body, iv=sealed.iv, tag=sealed.tag, secrets=[SECRET])


def test_decode_secret_accepts_the_backoffice_format():
    secret = generate_secret()

    assert len(secret) == 44
    assert len(decode_secret(secret)) == 32
    assert decode_secret(f"  {secret}\n") == decode_secret(secret)


def test_generated_secrets_are_random():
    assert len({generate_secret() for _ in range(20)}) == 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b64(bytes(16)), "16 bytes"),
        (b64(bytes(24)), "24 bytes"),
        (b64(bytes(64)), "64 bytes"),
        ("", "empty"),
        ("   ", "empty"),
        (SECRET[:-1], "not a multiple of 4"),
        (SECRET.rstrip("="), "padding"),
        ("!" + SECRET[1:], "outside the Base64 alphabet"),
        (SECRET[:10] + " " + SECRET[11:], "whitespace"),
    ],
)
def test_decode_secret_explains_what_is_wrong(text, expected):
    with pytest.raises(BadSecretError) as caught:
        decode_secret(text)

    assert caught.value.code == "bad_secret"
    assert expected in str(caught.value)


def test_url_safe_secret_is_rejected_with_a_hint():
    url_safe = base64.urlsafe_b64encode(bytes([0xFB, 0xFF] * 16)).decode()
    assert "-" in url_safe or "_" in url_safe

    with pytest.raises(BadSecretError, match="URL-safe"):
        decode_secret(url_safe)


def test_secret_errors_never_contain_the_secret():
    sixteen = b64(b"sixteen byte key")
    with pytest.raises(BadSecretError) as caught:
        decode_secret(sixteen)
    assert sixteen not in str(caught.value)


@pytest.mark.parametrize("raw", [bytes(31), bytes(33), SECRET.encode()])
def test_raw_key_must_be_32_bytes(raw):
    with pytest.raises(BadSecretError) as caught:
        encrypt(b"x", secret=raw)
    assert "32 bytes" in str(caught.value)


def test_a_bad_secret_in_the_list_is_reported_with_its_index():
    sealed = encrypt(b"payload", secret=SECRET)

    with pytest.raises(BadSecretError) as caught:
        decrypt(body=sealed.body, iv=sealed.iv, tag=sealed.tag, secrets=[SECRET, "not base64!"])

    assert caught.value.index == 1
    assert str(caught.value).startswith("secret #1:")


def test_no_secrets_is_a_configuration_error():
    sealed = encrypt(b"payload", secret=SECRET)

    with pytest.raises(NoSecretsError) as caught:
        decrypt(body=sealed.body, iv=sealed.iv, tag=sealed.tag, secrets=[])

    assert caught.value.code == "no_secrets"


def test_a_lone_secret_instead_of_a_list_is_a_programming_error():
    sealed = encrypt(b"payload", secret=SECRET)
    with pytest.raises(TypeError):
        decrypt(body=sealed.body, iv=sealed.iv, tag=sealed.tag, secrets=SECRET)


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("iv", "tag", "missing"),
    [(None, "x", IV_HEADER), ("x", None, TAG_HEADER), ("", "x", IV_HEADER), ("x", "  ", TAG_HEADER)],
)
def test_missing_headers(iv, tag, missing):
    with pytest.raises(MissingHeaderError) as caught:
        decrypt(body="AAAA", iv=iv, tag=tag, secrets=[SECRET])

    assert caught.value.code == "missing_header"
    assert caught.value.header == missing


@pytest.mark.parametrize("body", ["", b"", "  \r\n  "])
def test_empty_body(body):
    sealed = encrypt(b"x", secret=SECRET)

    with pytest.raises(EmptyBodyError) as caught:
        decrypt(body=body, iv=sealed.iv, tag=sealed.tag, secrets=[SECRET])

    assert caught.value.code == "empty_body"


def test_truncated_base64_body():
    sealed = encrypt(b"a payload long enough to matter", secret=SECRET)

    with pytest.raises(BadBase64Error) as caught:
        decrypt(body=sealed.body[:-1], iv=sealed.iv, tag=sealed.tag, secrets=[SECRET])

    assert caught.value.code == "bad_base64"
    assert caught.value.part == "body"
    assert "not a multiple of 4" in str(caught.value)


@pytest.mark.parametrize(
    ("part", "mutate", "expected"),
    [
        ("body", lambda text: "%" + text[1:], "outside the Base64 alphabet"),
        ("body", lambda text: text[:4] + " " + text[5:], "whitespace"),
        ("tag", lambda text: text.replace("=", ""), "padding"),
        ("iv", lambda text: text[:2] + "-" + text[3:], "URL-safe"),
        ("tag", lambda text: text[:3] + "_" + text[4:], "URL-safe"),
        ("tag", lambda text: "=" + text[1:], "misplaced"),
    ],
)
def test_non_base64_parts_are_named_in_the_error(part, mutate, expected):
    sealed = encrypt(b"a payload long enough to matter", secret=SECRET)
    parts = {"body": sealed.body, "iv": sealed.iv, "tag": sealed.tag}
    parts[part] = mutate(parts[part])

    with pytest.raises(BadBase64Error) as caught:
        decrypt(**parts, secrets=[SECRET])

    assert caught.value.part == part
    assert expected in str(caught.value)


def test_non_ascii_body_bytes():
    sealed = encrypt(b"x", secret=SECRET)
    with pytest.raises(BadBase64Error, match="non-ASCII"):
        decrypt(body="Referências".encode(), iv=sealed.iv, tag=sealed.tag, secrets=[SECRET])


@pytest.mark.parametrize("tag_length", [1, 12, 15, 17, 32])
def test_tag_must_be_16_bytes(tag_length):
    sealed = encrypt(b"x", secret=SECRET)

    with pytest.raises(BadTagError) as caught:
        decrypt(body=sealed.body, iv=sealed.iv, tag=b64(bytes(tag_length)), secrets=[SECRET])

    assert caught.value.code == "bad_tag"
    assert f"{tag_length} bytes" in str(caught.value)


def test_surrounding_whitespace_and_line_wrapping_are_tolerated():
    # given: a body wrapped at 76 columns with CRLF, as MIME encoders do, plus stray whitespace
    plaintext = example_bytes(9)
    sealed = encrypt(plaintext, secret=SECRET)
    wrapped = "\r\n".join(sealed.body[i : i + 76] for i in range(0, len(sealed.body), 76))

    # when
    result = decrypt(body=f"\n  {wrapped}\r\n".encode(), iv=f" {sealed.iv}\t", tag=f"{sealed.tag}\n", secrets=[SECRET])

    # then
    assert result.plaintext == plaintext


def test_decrypt_request_reads_headers_in_any_spelling():
    sealed = encrypt(b"payload", secret=SECRET)

    for headers in (
        sealed.headers(),
        {"x-initialization-vector": sealed.iv, "X-AUTHENTICATION-TAG": sealed.tag},
        {"HTTP_X_INITIALIZATION_VECTOR": sealed.iv, "HTTP_X_AUTHENTICATION_TAG": sealed.tag, "CONTENT_TYPE": "x"},
    ):
        assert decrypt_request(body=sealed.body, headers=headers, secrets=[SECRET]).plaintext == b"payload"


def test_decrypt_request_without_headers():
    with pytest.raises(MissingHeaderError) as caught:
        decrypt_request(body="AAAA", headers={"Content-Type": "text/plain"}, secrets=[SECRET])
    assert caught.value.header == IV_HEADER


# --------------------------------------------------------------------------- hygiene


def test_errors_share_one_base_and_have_distinct_codes():
    classes = [
        MissingHeaderError,
        EmptyBodyError,
        BadBase64Error,
        BadIVError,
        BadTagError,
        BadSecretError,
        NoSecretsError,
        AuthenticationFailedError,
    ]
    assert all(issubclass(cls, EnvelopeError) and issubclass(cls, ValueError) for cls in classes)
    assert len({cls.code for cls in classes}) == len(classes)


def test_failures_never_leak_plaintext_or_key():
    plaintext = b'{"token": {"value": "351#912345678"}}'
    sealed = encrypt(plaintext, secret=SECRET)
    attempts = [
        {"body": sealed.body, "iv": sealed.iv, "tag": flip_bit(sealed.tag), "secrets": [SECRET]},
        {"body": sealed.body, "iv": sealed.iv, "tag": sealed.tag, "secrets": [OTHER_SECRET]},
        {"body": sealed.body + "!", "iv": sealed.iv, "tag": sealed.tag, "secrets": [SECRET]},
        {"body": sealed.body, "iv": sealed.iv, "tag": sealed.tag, "secrets": [SECRET[:-4]]},
    ]
    for kwargs in attempts:
        with pytest.raises(EnvelopeError) as caught:
            decrypt(**kwargs)
        message = str(caught.value)
        for secret_text in (SECRET, SECRET[:-4], OTHER_SECRET, sealed.body, sealed.tag):
            assert secret_text not in message
        assert "351#" not in message


def test_decrypt_result_repr_hides_the_plaintext():
    sealed = encrypt(b"351#912345678", secret=SECRET)
    result = decrypt(body=sealed.body, iv=sealed.iv, tag=sealed.tag, secrets=[SECRET])
    assert "912345678" not in repr(result)


def test_round_trip_through_json_text_body():
    # The webhook body SIBS sends is exactly the Base64 text; nothing wraps it.
    sealed = encrypt(json.dumps({"notificationID": "n-1"}), secret=SECRET)
    assert not sealed.body.startswith("{")
    assert envelope.CONTENT_TYPE == "text/plain"
