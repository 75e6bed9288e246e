from django.urls import path

from themes import views

urlpatterns = [
    path("theme.css", views.theme_css, name="theme_css"),
    path("branding/<str:kind>", views.branding_image, name="branding_image"),
]
