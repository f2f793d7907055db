package heyken.cores;

import java.util.regex.Pattern;

/** Whether a WARN/ERROR line says what to do next (or that nothing needs doing), as the project's rules ask. */
final class LogHints {

  private LogHints() {}

  private static final Pattern HINT = Pattern.compile(
      "\\b(start|run|set|check|correct|install|restart|retry|try|see|read|use|stop|fix|pull|raise|lower|give|send|"
          + "wait|add|remove|put|move|free|stop|delete|load|expected|nothing to do|will retry|retrying|retries|is retried)\\b",
      Pattern.CASE_INSENSITIVE);

  static boolean saysWhatToDo(String message) {
    return HINT.matcher(message).find();
  }
}
