def write_unit(
    payloads: list[bytes],
    header: bytes,
    extension: bytes,
    sequence: int,
    history: list[tuple[int, bytes, int] | None],
    srtp: int,
    protect: int,
    fd: int,
    address: bytes,
    /,
) -> tuple[int, int, list[bytes] | None]: ...
def socket_address(host: str, port: int, /) -> bytes | None: ...
