"""Template filters for numbers, money, percentages and dates in the active language."""

from django import template
from django.utils.translation import get_language

from marsad.core import formatting

register = template.Library()


@register.filter
def number(value, decimals=0):
    return formatting.format_number(value, get_language(), int(decimals))


@register.filter
def percent(value, decimals=1):
    return formatting.format_percent(value, get_language(), int(decimals))


@register.filter
def mad(value, scale="auto"):
    return formatting.format_mad(value, get_language(), scale)


@register.filter
def date_ma(value):
    return formatting.format_date(value, get_language())


@register.filter
def absolute(value):
    """The size of a signed number: what a plural form is chosen by ("-3 days" is plural)."""
    return abs(value)
