"""Citizen reports (*phản ánh hiện trường*) and e-forms: what a report is, where it may be,
and its photos made safe to keep."""
