"""Django's date formats for English, set to Cairn's one way of writing a moment
(`lib.formatting.DATETIME_DJANGO`), so the admin writes "2026-12-01 17:33:00" as the pages do
(Django's own "Dec. 1, 2026, 5:33 p.m." would win over a DATETIME_FORMAT setting)."""

DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
