"""The Heddle language server (pygls). The only package that imports pygls and lsprotocol."""
