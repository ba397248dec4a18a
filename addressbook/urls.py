from django.urls import path

from addressbook import views

app_name = "addressbook"
urlpatterns = [
    path("", views.ContactListView.as_view(), name="contact_list"),
    path("count/", views.contact_count, name="contact_count"),
    path("new/", views.contact_create, name="contact_create"),
    path("bulk/", views.contact_bulk, name="contact_bulk"),
    path("<int:pk>/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("books/", views.BookListView.as_view(), name="book_list"),
    path("books/new/", views.book_create, name="book_create"),
    path("books/<int:pk>/", views.book_detail, name="book_detail"),
    path("books/<int:pk>/edit/", views.book_edit, name="book_edit"),
    path("books/<int:pk>/delete/", views.book_delete, name="book_delete"),
]
