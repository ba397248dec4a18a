from django.core.management.base import BaseCommand

from contactcenter.roles import matrix_markdown


class Command(BaseCommand):
    help = "Print the role × permission matrix as a Markdown table (the README's copy)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(matrix_markdown())
