// The caller of a Workload API call is the kernel's view of the process on the other end of the
// socket; the type lives with the socket transport, in LocalSocket.
@_exported public import struct LocalSocket.CallerCredentials
