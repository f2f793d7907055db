package heyken.actors;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** What went wrong behind the wrappers of asynchronous calls, in words for a log line or a chat answer. */
public final class Failures {

  private Failures() {}

  /** The failure a {@link CompletionException} or {@link ExecutionException} wraps (the same throwable otherwise). */
  public static Throwable unwrap(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** The unwrapped failure's message, or its type when it has none. */
  public static String message(Throwable e) {
    Throwable t = unwrap(e);
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
