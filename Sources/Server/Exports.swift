// The registration model and the wire types are part of the server's vocabulary.
@_exported import MatryoshkaAPI
