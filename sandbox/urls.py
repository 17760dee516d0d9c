"""Routes of the SIBS Gateway v2 simulator, mounted at /sandbox/.

``api/v2/`` mirrors the real API root, so a gateway credential's root can be
``http://127.0.0.1:8000/sandbox/api/v2``. ``control/`` is the sandbox's own API for what a
customer does outside the merchant's calls (paying a reference, scanning a QR code).
"""

from django.urls import include, path

from . import qrcodes, settlement_views, shop, views

app_name = "sandbox"

api_v2 = [
    path("payments", views.payments, name="payments"),
    path("payments/status", views.payment_status_query, name="status-query"),
    path("payments/<str:transaction_id>/status", views.payment_status, name="status"),
    path("payments/<str:transaction_id>/mbway-id/purchase", views.mbway_purchase, name="mbway-purchase"),
    path(
        "payments/<str:transaction_id>/service-reference/generate",
        views.reference_generate,
        name="reference-generate",
    ),
    path("payments/<str:transaction_id>/card/purchase", views.card_purchase, name="card-purchase"),
    path("payments/<str:transaction_id>/token/purchase", views.token_purchase, name="token-purchase"),
    path("payments/<str:transaction_id>/refund", views.refund, name="refund"),
    path("payments/<str:transaction_id>/capture", views.capture, name="capture"),
    path("payments/<str:transaction_id>/cancellation", views.cancellation, name="cancellation"),
    path("payments/<str:transaction_id>/mit", views.mit, name="mit"),
    path("qrcode-express/stock", qrcodes.stock_obtain, name="qr-stock-obtain"),
    path("qrcode-express/stock/add", qrcodes.stock_add, name="qr-stock-add"),
    path("qrcode-express/stock/remove", qrcodes.stock_remove, name="qr-stock-remove"),
    path("qrcode-express/stock/define", qrcodes.stock_define, name="qr-stock-define"),
]

control = [
    path("payments/<str:transaction_id>/reference", views.control_reference, name="control-reference"),
    path("qrcode-purchases", views.control_qrcode, name="control-qrcode"),
    path("tick", views.control_tick, name="control-tick"),
    path("qrcodes", qrcodes.control_qrcodes, name="control-qrcodes"),
]

urlpatterns = [
    path("", views.index, name="index"),
    path("api/v2/", include(api_v2)),
    path("control/", include(control)),
    path("shop/hooks/", shop.receive, name="shop-hooks"),
    path("qr/<str:qr_code_id>/", qrcodes.purchase_page, name="qr-purchase"),
    path("settlement-file", settlement_views.download, name="settlement-file"),
]
