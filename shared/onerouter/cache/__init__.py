"""The prompt (response) cache: an answer already paid for, given again for the same request.

Pure parts only: `key` turns a request into where its entry lives and the key that seals it;
`sealed` encrypts and authenticates entries. Entries are sealed under a key derived from the
request itself, so the table alone reveals no prompt and no completion, and one account's
entries never answer another account's requests.
"""
