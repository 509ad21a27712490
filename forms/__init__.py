"""The eCRF engine: study metadata, the REDCap logic language, data dictionaries, rendering."""
