package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/** One stored log line as the Logger API returns it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LogLine(
    String id,
    String time,
    String level,
    Integer core,
    Long epoch,
    String component,
    String logger,
    String thread,
    String message,
    String exception,
    Map<String, String> mdc) {

  /** {@code GET :5020/api/logs}: newest first; {@code next} continues after the last line. */
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record Page(List<LogLine> logs, String next) {}
}
