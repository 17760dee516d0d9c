from django.urls import path

from qrexpress import views

app_name = "qrexpress"

urlpatterns = [
    path("", views.product_list, name="index"),
    path("new/", views.product_new, name="product_new"),
    path("<int:pk>/", views.product_detail, name="product"),
    path("<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("<int:pk>/stock/", views.product_stock, name="product_stock"),
    path("<int:pk>/sync/", views.product_sync, name="product_sync"),
    path("<int:pk>/qr.png", views.product_qr_png, name="product_qr_png"),
    path("<int:pk>/qr.svg", views.product_qr_svg, name="product_qr_svg"),
    path("<int:pk>/card/", views.product_card, name="product_card"),
    path("purchases/", views.purchase_list, name="purchases"),
    path("purchases/export.csv", views.purchase_export, name="purchase_export"),
    path("purchases/<int:pk>/", views.purchase_detail, name="purchase"),
    path("import/", views.import_upload, name="import"),
    path("import/template.csv", views.import_template, name="import_template"),
    path("import/<int:pk>/", views.import_preview, name="import_preview"),
]
