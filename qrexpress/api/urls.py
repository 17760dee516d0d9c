from django.urls import path

from qrexpress import api

urlpatterns = [
    path("products", api.ProductListApi.as_view(), name="api-qr-products"),
    path("products/<int:pk>", api.ProductDetailApi.as_view(), name="api-qr-product"),
    path("products/<int:pk>/stock", api.StockApi.as_view(), name="api-qr-stock"),
    path("products/<int:pk>/ledger", api.LedgerApi.as_view(), name="api-qr-ledger"),
    path("purchases", api.PurchaseListApi.as_view(), name="api-qr-purchases"),
    path("purchases/<int:pk>/fulfilment", api.FulfilmentApi.as_view(), name="api-qr-fulfilment"),
]
