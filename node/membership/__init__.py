"""Who belongs to the consortium: members and their keys and roles (`members`), signed versioned rosters
(`roster`), join requests (`join`), members' TLS identities (`certificates`), whom a node trusts (`trust`)
and whom it dials (`dialling`).

Pure: verification and decisions over bytes and values. May import `node.core`.
"""
