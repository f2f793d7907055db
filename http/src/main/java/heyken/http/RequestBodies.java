package heyken.http;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Sink;

import static org.apache.pekko.http.javadsl.server.Directives.extractMaterializer;
import static org.apache.pekko.http.javadsl.server.Directives.extractParserSettings;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

/**
 * How large a route's request body may be, and how a larger one is refused.
 *
 * <p>A body whose declared {@code Content-Length} is over the limit is answered 413 {@code payload_too_large}
 * <em>after</em> its bytes were read and dropped (up to {@link #DRAIN_MAX_BYTES}, for at most {@link #DRAIN_TIME}).
 * Answering at once while the client is still sending makes the server close a connection with unread bytes in it;
 * the kernel then resets it and the client usually sees "connection reset" instead of the 413 (pekko-http warns of
 * the same for early responses). A client that asked {@code Expect: 100-continue} (curl does above 1 MB) has not sent
 * the body yet and gets the 413 at once. A body without a declared length is cut at the limit as before
 * ({@link ApiErrors} renders the 413).
 */
public final class RequestBodies {

  /** Beyond this much declared body, the 413 is sent at once and the connection closed: reading it is not worth it. */
  static final long DRAIN_MAX_BYTES = 64L << 20;
  static final Duration DRAIN_TIME = Duration.ofSeconds(10);

  private RequestBodies() {}

  /** {@code inner} with the request body limited to the server's default, {@code pekko.http.server.parsing.max-content-length}. */
  public static Route atMostDefault(Supplier<Route> inner) {
    return extractParserSettings(settings -> atMost(settings.getMaxContentLength(), inner));
  }

  /** {@code inner} with the request body limited to {@code maxBytes}. */
  public static Route atMost(long maxBytes, Supplier<Route> inner) {
    return extractRequest(request -> {
      OptionalLong declared = request.entity().getContentLengthOption();
      if (declared.isPresent() && declared.getAsLong() > maxBytes) {
        return refuse(request, declared.getAsLong(), maxBytes);
      }
      return withSizeLimit(maxBytes, inner);
    });
  }

  private static Route refuse(HttpRequest request, long declared, long maxBytes) {
    Route answer = ApiErrors.tooLarge(maxBytes);
    boolean waitsForContinue = request.getHeader("Expect")
        .map(h -> h.value().trim().equalsIgnoreCase("100-continue")).orElse(false);
    if (waitsForContinue || declared > DRAIN_MAX_BYTES) {
      return answer;
    }
    return extractMaterializer(materializer -> onComplete(
        () -> request.entity().withoutSizeLimit().getDataBytes().takeWithin(DRAIN_TIME)
            .runWith(Sink.ignore(), materializer),
        drained -> answer));
  }
}
