package heyken.protocol.api;

import heyken.protocol.CborSerializable;

/**
 * A refusal an actor sends back instead of a result: the HTTP status it maps to, and the
 * {@code {"error","detail"}} body the caller sees.
 */
public record Problem(int status, String error, String detail) implements CborSerializable {

  public static Problem badRequest(String error, String detail) {
    return new Problem(400, error, detail);
  }

  public static Problem notFound(String error, String detail) {
    return new Problem(404, error, detail);
  }

  public static Problem conflict(String error, String detail) {
    return new Problem(409, error, detail);
  }

  public static Problem unavailable(String error, String detail) {
    return new Problem(503, error, detail);
  }

  public ApiError body() {
    return new ApiError(error, detail);
  }
}
