"""DynamoDB access: one repository per table, the only code that writes DynamoDB expressions.

Table names come from `Settings.tables`; table shapes live in template.yaml.
"""
