"""The test databases' lifecycle and safety: names, guard and mark, server, create/claim/drop."""
