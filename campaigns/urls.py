"""The campaigns area's pages; each part of the area keeps its routes in its own module."""

from campaigns import filter_urls, import_urls, ui_urls

app_name = "campaigns"
urlpatterns = [*ui_urls.urlpatterns, *filter_urls.urlpatterns, *import_urls.urlpatterns]
