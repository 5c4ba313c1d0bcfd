"""The ERP side of the plant: CSV import, row models, the MQTT bridge in and plans out."""
