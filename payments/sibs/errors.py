"""Catalogue of SIBS ``returnStatus.statusCode`` values, in English and European Portuguese.

Sources: the MULTIBANCO error table of the SIBS integration manual (seed 004; its English texts
are kept word for word, awkward punctuation included, so they can be matched against SIBS's
documents) and the codes collected in PROTOCOL.md §3.5. The Portuguese texts are ours, written
in pt-PT for merchants and their customers in Portugal.

The texts live here rather than in gettext catalogues on purpose: they are data about SIBS
codes, must exist in both languages whatever the active locale, and are chosen per message
(a customer e-mail in Portuguese, an operator screen in English) rather than per request.

SIBS publishes no complete list and adds codes without notice, so :func:`describe` never raises:
an unknown code gets a generic entry for its *family*, inferred from its shape:

===================  ======================================================================
``000``              success (the operation was processed — not necessarily paid)
``E####``            API-level request error (HTTP 4xx)
``T####``            temporary SIBS condition (HTTP 503)
``xx.107.xxxx``      MULTIBANCO reference
``xx.106.xxxx``      MB WAY (``10.106`` and ``01.106`` are both seen)
``12.110.12xx``      checkout request
``12.110.13xx``      payment request
``xx.110.xxxx``      other gateway processing results (e.g. ``00.110.1601`` pending/timeout)
``10.1xx.xxxx``      other payment-method-specific results
``90.xxx.xxxx``      SIBS technical error
===================  ======================================================================

The ``107``/``106`` segment readings are inferences from the published examples, not a
documented rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "CATALOGUE",
    "SUPPORTED_LANGUAGES",
    "ErrorFamily",
    "ErrorInfo",
    "ErrorOwner",
    "describe",
    "error_family",
    "normalise_language",
]

Language = Literal["en", "pt-PT"]
SUPPORTED_LANGUAGES: Final[tuple[Language, ...]] = ("en", "pt-PT")


class ErrorOwner(StrEnum):
    """Who has to act, as in the "Owner" column of the SIBS tables."""

    NONE = "none"  # success codes
    MERCHANT = "merchant"
    CLIENT = "client"
    SIBS = "sibs"
    UNKNOWN = "unknown"


class ErrorFamily(StrEnum):
    """Code families, inferred from the shape of the code (see the module docstring)."""

    SUCCESS = "success"
    API_REQUEST = "api_request"
    TEMPORARY = "temporary"
    CHECKOUT_REQUEST = "checkout_request"
    PAYMENT_REQUEST = "payment_request"
    GATEWAY = "gateway"
    MULTIBANCO = "multibanco"
    MBWAY = "mbway"
    PAYMENT_METHOD = "payment_method"
    SIBS_TECHNICAL = "sibs_technical"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo:
    """A described result code, in one language.

    ``catalogued`` is False when the texts are the generic ones of the code's family.
    ``retry_later`` is True when simply trying again later is a sensible answer (SIBS-side or
    temporary conditions), as opposed to fixing data or asking the customer.
    """

    code: str
    family: ErrorFamily
    owner: ErrorOwner
    merchant_message: str
    client_message: str
    action: str
    language: Language
    catalogued: bool
    retry_later: bool

    @property
    def is_success(self) -> bool:
        return self.family is ErrorFamily.SUCCESS


@dataclass(frozen=True, slots=True)
class _Text:
    en: str
    pt: str

    def get(self, language: Language) -> str:
        return self.pt if language == "pt-PT" else self.en


@dataclass(frozen=True, slots=True, kw_only=True)
class _Entry:
    code: str
    owner: ErrorOwner
    merchant: _Text
    client: _Text
    action: _Text
    retry_later: bool = False

    def render(self, code: str, language: Language, *, catalogued: bool) -> ErrorInfo:
        return ErrorInfo(
            code=code,
            family=error_family(code),
            owner=self.owner,
            merchant_message=self.merchant.get(language),
            client_message=self.client.get(language),
            action=self.action.get(language),
            language=language,
            catalogued=catalogued,
            retry_later=self.retry_later,
        )


def _t(en: str, pt: str) -> _Text:
    return _Text(en=en, pt=pt)


# Texts shared by several entries.
_TRY_LATER = _t(
    "The payment could not be processed. Please try again later.",
    "Não foi possível processar o pagamento. Tente novamente mais tarde.",
)
_SIBS_INTERNAL_ACTION = _t(
    "SIBS internal error. Try again later; contact SIBS if it persists.",
    "Erro interno da SIBS. Tente novamente mais tarde; contacte a SIBS se o erro persistir.",
)
_MB_AMOUNT_ACTION = _t(
    "Please verify the parameterization in the amount",
    "Verifique a parametrização do montante.",
)
_MB_TIME_ACTION = _t(
    "Please verify the parameterization in time accepted",
    "Verifique a parametrização do período aceite.",
)
_MB_ENTITY_ACTION = _t(
    "Please verify your entity, if it is the one in the SLA",
    "Verifique se a sua entidade é a que consta do acordo de nível de serviço (SLA).",
)
_SIBS_TABLE_INTERNAL = _t(
    "SIBS Internal error, Please try again later.",
    "Erro interno da SIBS. Tente novamente mais tarde.",
)
_SIBS_TECHNICAL_CLIENT = _t(
    "SIBS Technical Issue try again later",
    "Problema técnico na SIBS. Tente novamente mais tarde.",
)
_SIBS_TECHNICAL_ACTION = _t(
    "Please try Again or later \u2013 Issue to be solved by SIBS",
    "Tente novamente agora ou mais tarde \u2013 problema a resolver pela SIBS.",
)

_MULTIBANCO_TABLE: tuple[_Entry, ...] = (
    # Seed 004, "Multibanco" table, in order.
    _Entry(
        code="10.107.0001",
        owner=ErrorOwner.MERCHANT,
        merchant=_t("Invalid payment entity", "Entidade de pagamento inválida"),
        client=_t("Entity not valid, Try again later.", "Entidade inválida. Tente novamente mais tarde."),
        action=_t(
            "Please verify that the correct Merchant entity is being used.",
            "Verifique se está a ser utilizada a entidade correta do comerciante.",
        ),
    ),
    _Entry(
        code="10.107.0002",
        owner=ErrorOwner.MERCHANT,
        merchant=_t("Invalid reference minimum amount", "Montante mínimo da referência inválido"),
        client=_t(
            "Invalid reference minimum, amount please try again.",
            "Montante mínimo da referência inválido. Tente novamente.",
        ),
        action=_MB_AMOUNT_ACTION,
    ),
    _Entry(
        code="10.107.0003",
        owner=ErrorOwner.MERCHANT,
        merchant=_t("Invalid reference maximum amount", "Montante máximo da referência inválido"),
        client=_t(
            "Invalid reference maximum amount please try again.",
            "Montante máximo da referência inválido. Tente novamente.",
        ),
        action=_MB_AMOUNT_ACTION,
    ),
    _Entry(
        code="10.107.0004",
        owner=ErrorOwner.MERCHANT,
        merchant=_t("Invalid currency", "Moeda inválida"),
        client=_t("Invalid currency try again.", "Moeda inválida. Tente novamente."),
        action=_t(
            "Please verify the parameterization in the currency accepted",
            "Verifique a parametrização da moeda aceite.",
        ),
    ),
    _Entry(
        code="10.107.0005",
        owner=ErrorOwner.CLIENT,
        merchant=_t("Invalid NIB", "NIB inválido"),
        client=_t("Invalid NIB please try again.", "NIB inválido. Tente novamente."),
        action=_t(
            "Please verify you are using the correct NIB",
            "Verifique se está a utilizar o NIB correto.",
        ),
    ),
    _Entry(
        code="10.107.0006",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "Invalid reference initial date time",
            "Data e hora de início da referência inválidas",
        ),
        client=_t(
            "Invalid reference initial date time try again.",
            "Data e hora de início da referência inválidas. Tente novamente.",
        ),
        action=_MB_TIME_ACTION,
    ),
    _Entry(
        code="10.107.0007",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "Invalid reference limit date time",
            "Data e hora limite da referência inválidas",
        ),
        client=_t(
            "Invalid reference limit date time try again.",
            "Data e hora limite da referência inválidas. Tente novamente.",
        ),
        action=_MB_TIME_ACTION,
    ),
    _Entry(
        code="10.107.0008",
        owner=ErrorOwner.CLIENT,
        merchant=_t("Invalid Email", "Endereço de e-mail inválido"),
        client=_t("Invalid Email try again.", "E-mail inválido. Tente novamente."),
        action=_t(
            "Please insert the email used on the registration",
            "Introduza o e-mail utilizado no registo.",
        ),
    ),
    _Entry(
        code="10.107.0009",
        owner=ErrorOwner.MERCHANT,
        merchant=_t("Payment entity is not active", "A entidade de pagamento não está ativa"),
        client=_t(
            "Payment entity is not active, try later",
            "A entidade de pagamento não está ativa. Tente mais tarde.",
        ),
        action=_MB_ENTITY_ACTION,
    ),
    _Entry(
        code="10.107.0010",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "Reference generation not allowed for the payment entity",
            "Geração de referências não permitida para a entidade de pagamento",
        ),
        client=_t(
            "Reference generation not allowed try later.",
            "Geração de referência não permitida. Tente mais tarde.",
        ),
        action=_MB_ENTITY_ACTION,
    ),
    _Entry(
        code="10.107.0011",
        owner=ErrorOwner.SIBS,
        merchant=_t("Payment reference not found", "Referência de pagamento não encontrada"),
        client=_SIBS_TABLE_INTERNAL,
        action=_SIBS_TABLE_INTERNAL,
        retry_later=True,
    ),
    _Entry(
        code="10.107.0012",
        owner=ErrorOwner.MERCHANT,
        merchant=_t("Payment reference is cancelled", "A referência de pagamento foi cancelada"),
        client=_t("Payment reference is cancelled.", "A referência de pagamento foi cancelada."),
        action=_t(
            "Please verify your reference was cancelled.",
            "Verifique se a sua referência foi cancelada.",
        ),
    ),
    _Entry(
        code="10.107.0013",
        owner=ErrorOwner.MERCHANT,
        merchant=_t("Payment reference already paid", "Referência de pagamento já paga"),
        client=_t("Payment reference already paid.", "A referência de pagamento já foi paga."),
        action=_t(
            "Please verify your reference is already paid.",
            "Verifique se a sua referência já foi paga.",
        ),
    ),
    _Entry(
        code="10.107.0014",
        owner=ErrorOwner.SIBS,
        merchant=_t("Invalid operation", "Operação inválida"),
        client=_t("Invalid operation, try later.", "Operação inválida. Tente mais tarde."),
        action=_SIBS_TABLE_INTERNAL,
        retry_later=True,
    ),
    _Entry(
        code="90.000.0001",
        owner=ErrorOwner.SIBS,
        merchant=_t("Exception", "Exceção"),
        client=_SIBS_TECHNICAL_CLIENT,
        action=_SIBS_TECHNICAL_ACTION,
        retry_later=True,
    ),
    _Entry(
        code="90.000.0003",
        owner=ErrorOwner.SIBS,
        merchant=_t("Error in message format", "Erro no formato da mensagem"),
        client=_SIBS_TECHNICAL_CLIENT,
        action=_SIBS_TECHNICAL_ACTION,
        retry_later=True,
    ),
)


def _checkout_internal(code: str) -> _Entry:
    return _Entry(
        code=code,
        owner=ErrorOwner.SIBS,
        merchant=_t(
            "SIBS internal error while processing the checkout request.",
            "Erro interno da SIBS ao processar o pedido de checkout.",
        ),
        client=_TRY_LATER,
        action=_SIBS_INTERNAL_ACTION,
        retry_later=True,
    )


_GATEWAY_TABLE: tuple[_Entry, ...] = (
    # PROTOCOL.md §3.5.
    _Entry(
        code="000",
        owner=ErrorOwner.NONE,
        merchant=_t(
            "Operation processed successfully. This alone does not mean the payment is complete: "
            "check the payment status.",
            "Operação processada com sucesso. Isto, por si só, não significa que o pagamento esteja "
            "concluído: verifique o estado do pagamento.",
        ),
        client=_t("Operation completed.", "Operação concluída."),
        action=_t("No action needed.", "Nenhuma ação necessária."),
    ),
    _Entry(
        code="E0101",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "Invalid request: SIBS rejected the request format or parameters.",
            "Pedido inválido: a SIBS rejeitou o formato ou os parâmetros do pedido.",
        ),
        client=_TRY_LATER,
        action=_t(
            "Check the request body and parameters against the SIBS API specification.",
            "Verifique o corpo e os parâmetros do pedido face à especificação da API da SIBS.",
        ),
    ),
    _Entry(
        code="E0119",
        owner=ErrorOwner.CLIENT,
        merchant=_t("Operation declined.", "Operação recusada."),
        client=_t(
            "The operation was declined. Please try another payment method.",
            "A operação foi recusada. Experimente outro meio de pagamento.",
        ),
        action=_t(
            "Check the operation details; the customer may use another payment method.",
            "Verifique os detalhes da operação; o cliente pode utilizar outro meio de pagamento.",
        ),
    ),
    _Entry(
        code="E0507",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "Unknown MB WAY authorised payment (mandate not found).",
            "Pagamento autorizado MB WAY desconhecido (autorização não encontrada).",
        ),
        client=_t(
            "The MB WAY authorisation was not found.",
            "A autorização MB WAY não foi encontrada.",
        ),
        action=_t(
            "Check the mandate identifier and the MB WAY alias used in the inquiry.",
            "Verifique o identificador da autorização e o alias MB WAY utilizados na consulta.",
        ),
    ),
    _Entry(
        code="E0612",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "Payment reference is cancelled (expired).",
            "A referência de pagamento foi cancelada (expirou).",
        ),
        client=_t(
            "This payment reference is no longer valid. Please ask for a new one.",
            "Esta referência de pagamento já não é válida. Peça uma nova referência.",
        ),
        action=_t(
            "Generate a new MULTIBANCO reference if the customer still wants to pay.",
            "Gere uma nova referência MULTIBANCO se o cliente ainda pretender pagar.",
        ),
    ),
    _Entry(
        code="T9999",
        owner=ErrorOwner.SIBS,
        merchant=_t(
            "Temporary SIBS system condition (service unavailable).",
            "Condição temporária do sistema SIBS (serviço indisponível).",
        ),
        client=_t(
            "Service temporarily unavailable. Please try again later.",
            "Serviço temporariamente indisponível. Tente novamente mais tarde.",
        ),
        action=_t(
            "Retry later with increasing intervals; query the transaction status before repeating a payment.",
            "Tente novamente mais tarde, com intervalos crescentes; consulte o estado da "
            "transação antes de repetir um pagamento.",
        ),
        retry_later=True,
    ),
    _Entry(
        code="12.110.1201",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "Invalid checkout request parameters (amount, expiry, token, merchant or terminal).",
            "Parâmetros inválidos no pedido de checkout (montante, data de expiração, token, comerciante ou terminal).",
        ),
        client=_t(
            "The payment could not be started. Please try again later.",
            "Não foi possível iniciar o pagamento. Tente novamente mais tarde.",
        ),
        action=_t(
            "Check the amount, the reference dates and amounts, the token, the terminal and the "
            "merchant data sent in the checkout request.",
            "Verifique o montante, as datas e os montantes da referência, o token, o terminal e "
            "os dados do comerciante enviados no pedido de checkout.",
        ),
    ),
    _Entry(
        code="12.110.1202",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "The checkout request is missing mandatory data.",
            "Faltam dados obrigatórios no pedido de checkout.",
        ),
        client=_t(
            "The payment could not be started. Please try again later.",
            "Não foi possível iniciar o pagamento. Tente novamente mais tarde.",
        ),
        action=_t(
            "Send every mandatory field of the checkout request.",
            "Envie todos os campos obrigatórios do pedido de checkout.",
        ),
    ),
    _checkout_internal("12.110.1203"),
    _checkout_internal("12.110.1204"),
    _checkout_internal("12.110.1205"),
    _checkout_internal("12.110.1206"),
    _Entry(
        code="12.110.1301",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "Invalid payment request (formContext, signature or parameters).",
            "Pedido de pagamento inválido (formContext, assinatura ou parâmetros).",
        ),
        client=_TRY_LATER,
        action=_t(
            "Send the formContext and transactionSignature from the checkout response unchanged, "
            "and check the request parameters.",
            "Envie o formContext e a transactionSignature da resposta de checkout sem alterações "
            "e verifique os parâmetros do pedido.",
        ),
    ),
    _Entry(
        code="12.110.1302",
        owner=ErrorOwner.MERCHANT,
        merchant=_t(
            "The payment request is missing mandatory data.",
            "Faltam dados obrigatórios no pedido de pagamento.",
        ),
        client=_TRY_LATER,
        action=_t(
            "Send every mandatory field of the payment request.",
            "Envie todos os campos obrigatórios do pedido de pagamento.",
        ),
    ),
    _Entry(
        code="12.110.1303",
        owner=ErrorOwner.SIBS,
        merchant=_t(
            "SIBS internal error while processing the payment request.",
            "Erro interno da SIBS ao processar o pedido de pagamento.",
        ),
        client=_TRY_LATER,
        action=_SIBS_INTERNAL_ACTION,
        retry_later=True,
    ),
    _Entry(
        code="12.110.1304",
        owner=ErrorOwner.UNKNOWN,
        merchant=_t(
            "Payment request error (details not publicly documented).",
            "Erro no pedido de pagamento (detalhes não documentados publicamente).",
        ),
        client=_TRY_LATER,
        action=_t(
            "Check the payment request; contact SIBS with the transaction ID if it persists.",
            "Verifique o pedido de pagamento; contacte a SIBS indicando o ID da transação se o erro persistir.",
        ),
    ),
    _Entry(
        code="00.110.1601",
        owner=ErrorOwner.CLIENT,
        merchant=_t(
            "Payment pending or abandoned by the customer (timeout).",
            "Pagamento pendente ou abandonado pelo cliente (tempo esgotado).",
        ),
        client=_t(
            "The payment was not completed in time.",
            "O pagamento não foi concluído a tempo.",
        ),
        action=_t(
            "Wait for the final notification or query the status; the customer may start a new payment.",
            "Aguarde a notificação final ou consulte o estado; o cliente pode iniciar um novo pagamento.",
        ),
    ),
    _Entry(
        code="10.106.0001",
        owner=ErrorOwner.CLIENT,
        merchant=_t("Operation declined (MB WAY).", "Operação recusada (MB WAY)."),
        client=_t("The MB WAY payment was declined.", "O pagamento MB WAY foi recusado."),
        action=_t(
            "The customer may try again or use another payment method.",
            "O cliente pode tentar novamente ou utilizar outro meio de pagamento.",
        ),
    ),
    _Entry(
        code="01.106.0004",
        owner=ErrorOwner.CLIENT,
        merchant=_t(
            "MB WAY payment declined or not confirmed by the customer.",
            "Pagamento MB WAY recusado ou não confirmado pelo cliente.",
        ),
        client=_t(
            "The MB WAY payment was declined or not confirmed in the app.",
            "O pagamento MB WAY foi recusado ou não foi confirmado na aplicação.",
        ),
        action=_t(
            "The customer may try again, confirming the payment in the MB WAY app, or use another payment method.",
            "O cliente pode tentar novamente, confirmando o pagamento na aplicação MB WAY, ou "
            "utilizar outro meio de pagamento.",
        ),
    ),
    _Entry(
        # Seen in the "Cancel MB WAY Authorised Payment - Decline" notification (seed 002, #8).
        code="10.106.2662",
        owner=ErrorOwner.UNKNOWN,
        merchant=_t(
            "MB WAY authorised payment cancellation declined.",
            "Cancelamento do pagamento autorizado MB WAY recusado.",
        ),
        client=_t(
            "The MB WAY authorisation could not be cancelled.",
            "Não foi possível cancelar a autorização MB WAY.",
        ),
        action=_t(
            "Check the authorisation state (it may already be cancelled or expired) and try again.",
            "Verifique o estado da autorização (pode já estar cancelada ou expirada) e tente novamente.",
        ),
    ),
)

CATALOGUE: Final[Mapping[str, _Entry]] = MappingProxyType(
    {entry.code: entry for entry in (*_MULTIBANCO_TABLE, *_GATEWAY_TABLE)}
)
"""Every catalogued code, read-only. Use :func:`describe` to get texts."""


_GENERIC: Final[Mapping[ErrorFamily, _Entry]] = MappingProxyType(
    {
        ErrorFamily.SUCCESS: CATALOGUE["000"],
        ErrorFamily.API_REQUEST: _Entry(
            code="E",
            owner=ErrorOwner.MERCHANT,
            merchant=_t(
                "SIBS rejected the API request (code not catalogued).",
                "A SIBS rejeitou o pedido à API (código não catalogado).",
            ),
            client=_TRY_LATER,
            action=_t(
                "Check the request against the SIBS API specification; contact SIBS with the code if it persists.",
                "Verifique o pedido face à especificação da API da SIBS; contacte a SIBS "
                "indicando o código se o erro persistir.",
            ),
        ),
        ErrorFamily.TEMPORARY: _Entry(
            code="T",
            owner=ErrorOwner.SIBS,
            merchant=_t(
                "Temporary SIBS condition (code not catalogued).",
                "Condição temporária da SIBS (código não catalogado).",
            ),
            client=_t(
                "Service temporarily unavailable. Please try again later.",
                "Serviço temporariamente indisponível. Tente novamente mais tarde.",
            ),
            action=_t(
                "Retry later; query the transaction status before repeating a payment.",
                "Tente novamente mais tarde; consulte o estado da transação antes de repetir um pagamento.",
            ),
            retry_later=True,
        ),
        ErrorFamily.CHECKOUT_REQUEST: _Entry(
            code="12.110.12",
            owner=ErrorOwner.MERCHANT,
            merchant=_t(
                "Checkout request error (code not catalogued).",
                "Erro no pedido de checkout (código não catalogado).",
            ),
            client=_t(
                "The payment could not be started. Please try again later.",
                "Não foi possível iniciar o pagamento. Tente novamente mais tarde.",
            ),
            action=_t(
                "Check the checkout request data; contact SIBS with the code if it persists.",
                "Verifique os dados do pedido de checkout; contacte a SIBS indicando o código se o erro persistir.",
            ),
        ),
        ErrorFamily.PAYMENT_REQUEST: _Entry(
            code="12.110.13",
            owner=ErrorOwner.MERCHANT,
            merchant=_t(
                "Payment request error (code not catalogued).",
                "Erro no pedido de pagamento (código não catalogado).",
            ),
            client=_TRY_LATER,
            action=_t(
                "Check the payment request data; contact SIBS with the code if it persists.",
                "Verifique os dados do pedido de pagamento; contacte a SIBS indicando o código se o erro persistir.",
            ),
        ),
        ErrorFamily.GATEWAY: _Entry(
            code="110",
            owner=ErrorOwner.UNKNOWN,
            merchant=_t(
                "SIBS Gateway processing result (code not catalogued).",
                "Resultado de processamento do SIBS Gateway (código não catalogado).",
            ),
            client=_TRY_LATER,
            action=_t(
                "Query the transaction status; contact SIBS with the code if it is unclear.",
                "Consulte o estado da transação; contacte a SIBS indicando o código se não for claro.",
            ),
        ),
        ErrorFamily.MULTIBANCO: _Entry(
            code="107",
            owner=ErrorOwner.UNKNOWN,
            merchant=_t(
                "MULTIBANCO reference error (code not catalogued).",
                "Erro na referência MULTIBANCO (código não catalogado).",
            ),
            client=_t(
                "The MULTIBANCO reference could not be processed. Please try again later.",
                "Não foi possível processar a referência MULTIBANCO. Tente novamente mais tarde.",
            ),
            action=_t(
                "Check the reference parameters (entity, amounts, dates); contact SIBS with the code if it persists.",
                "Verifique os parâmetros da referência (entidade, montantes, datas); contacte a "
                "SIBS indicando o código se o erro persistir.",
            ),
        ),
        ErrorFamily.MBWAY: _Entry(
            code="106",
            owner=ErrorOwner.UNKNOWN,
            merchant=_t("MB WAY error (code not catalogued).", "Erro MB WAY (código não catalogado)."),
            client=_t(
                "The MB WAY payment could not be completed. Please try again or use another payment method.",
                "Não foi possível concluir o pagamento MB WAY. Tente novamente ou utilize outro meio de pagamento.",
            ),
            action=_t(
                "Check the customer's MB WAY alias and the transaction status; contact SIBS with "
                "the code if it persists.",
                "Verifique o alias MB WAY do cliente e o estado da transação; contacte a SIBS "
                "indicando o código se o erro persistir.",
            ),
        ),
        ErrorFamily.PAYMENT_METHOD: _Entry(
            code="10.1",
            owner=ErrorOwner.UNKNOWN,
            merchant=_t(
                "Payment method error (code not catalogued).",
                "Erro do meio de pagamento (código não catalogado).",
            ),
            client=_t(
                "The payment could not be completed. Please try again or use another payment method.",
                "Não foi possível concluir o pagamento. Tente novamente ou utilize outro meio de pagamento.",
            ),
            action=_t(
                "Query the transaction status; contact SIBS with the code if it persists.",
                "Consulte o estado da transação; contacte a SIBS indicando o código se o erro persistir.",
            ),
        ),
        ErrorFamily.SIBS_TECHNICAL: _Entry(
            code="90",
            owner=ErrorOwner.SIBS,
            merchant=_t(
                "SIBS technical error (code not catalogued).",
                "Erro técnico da SIBS (código não catalogado).",
            ),
            client=_t(
                "SIBS technical issue. Please try again later.",
                "Problema técnico na SIBS. Tente novamente mais tarde.",
            ),
            action=_t(
                "Try again later; contact SIBS with the code if it persists.",
                "Tente novamente mais tarde; contacte a SIBS indicando o código se o erro persistir.",
            ),
            retry_later=True,
        ),
        ErrorFamily.UNKNOWN: _Entry(
            code="",
            owner=ErrorOwner.UNKNOWN,
            merchant=_t("Unknown SIBS result code.", "Código de resultado SIBS desconhecido."),
            client=_TRY_LATER,
            action=_t(
                "Check the transaction in SIBS Backoffice; contact SIBS with the code.",
                "Consulte a transação no Backoffice SIBS; contacte a SIBS indicando o código.",
            ),
        ),
    }
)

_DOTTED = re.compile(r"(?P<major>\d{2})\.(?P<domain>\d{3})\.(?P<detail>\d{4})")


def _normalise_code(code: object) -> str:
    if not isinstance(code, str):
        return "" if code is None else str(code).strip()
    return code.strip().upper()


def error_family(code: str | None) -> ErrorFamily:
    """The family of a result code, from its shape alone. Never raises."""
    text = _normalise_code(code)
    if text == "000":
        return ErrorFamily.SUCCESS
    if re.fullmatch(r"E\d{4}", text):
        return ErrorFamily.API_REQUEST
    if re.fullmatch(r"T\d{4}", text):
        return ErrorFamily.TEMPORARY
    match = _DOTTED.fullmatch(text)
    if match is None:
        return ErrorFamily.UNKNOWN
    major, domain, detail = match["major"], match["domain"], match["detail"]
    if major == "90":
        return ErrorFamily.SIBS_TECHNICAL
    if domain == "107":
        return ErrorFamily.MULTIBANCO
    if domain == "106":
        return ErrorFamily.MBWAY
    if domain == "110":
        if major == "12" and detail.startswith("12"):
            return ErrorFamily.CHECKOUT_REQUEST
        if major == "12" and detail.startswith("13"):
            return ErrorFamily.PAYMENT_REQUEST
        return ErrorFamily.GATEWAY
    if major == "10" and domain.startswith("1"):
        return ErrorFamily.PAYMENT_METHOD
    return ErrorFamily.UNKNOWN


def normalise_language(language: str | None) -> Language:
    """``pt``, ``pt-PT``, ``pt_pt``… give ``pt-PT``; anything else gives ``en``.

    Brazilian Portuguese also maps to ``pt-PT``: it is the closest text available, and SIBS's
    customers are in Portugal.
    """
    if isinstance(language, str) and language.strip().lower().replace("_", "-").split("-")[0] == "pt":
        return "pt-PT"
    return "en"


def describe(code: str | None, *, language: str = "en") -> ErrorInfo:
    """Describe a ``returnStatus.statusCode`` in ``language`` (``en`` or ``pt-PT``).

    Returns the catalogued entry when the code is known, otherwise the generic entry of the
    code's family with ``catalogued=False``. Never raises: unknown codes, odd spacing, lower
    case, ``None`` and unsupported languages (falling back to English) are all fine.
    """
    text = _normalise_code(code)
    lang = normalise_language(language)
    entry = CATALOGUE.get(text)
    if entry is not None:
        return entry.render(text, lang, catalogued=True)
    return _GENERIC[error_family(text)].render(text, lang, catalogued=False)
