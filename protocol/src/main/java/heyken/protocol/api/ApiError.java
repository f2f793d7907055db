package heyken.protocol.api;

/** The one error body of every Heyken HTTP API: what went wrong, and what to do about it. */
public record ApiError(String error, String detail) {}
