package heyken.actors.logs.question;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text2sql questions the structured query cannot express (issue 11: failures per feature, percentiles of
 * durations, counts per core AND per time unit), answered as SQL over the read-only views when the model is away.
 * Each recognised question becomes one fixed-shape {@code SELECT} with the question's words filling only known
 * slots (a level, a percentile, a time unit, a period), so no text of the question ever reaches the SQL; the
 * statement still goes through the {@link SqlGuard} and runs as the read-only role, as the model's would.
 */
final class SqlRules {

  private SqlRules() {}

  private static final Pattern FAILED_MOST = Pattern.compile(
      "\\b(which|what)\\b.*\\bfeatures?\\b.*\\bfail(s|ed|ing|ures?)?\\b.*\\bmost\\b");
  private static final Pattern PERCENTILE = Pattern.compile(
      "\\b(p(\\d{1,2})|median|average|mean)\\b.*\\bdurations?\\b.*\\b(jobs?|runs?)\\b");
  private static final Pattern PER_CORE = Pattern.compile(
      "\\b(errors?|warnings?|lines?)\\b.*\\bper core\\b|\\b(errors?|warnings?|lines?)\\b.*\\bby core\\b");
  private static final Pattern PER_UNIT = Pattern.compile("\\b(per|by|each) (minute|hour|day|week)\\b");
  private static final Pattern LAST = Pattern.compile("\\b(?:in the )?(?:last|past) (\\d{1,4}) (minute|hour|day|week)s?\\b");
  private static final Pattern LAST_ONE = Pattern.compile("\\b(?:in the )?(?:last|past) (minute|hour|day|week)\\b");

  /** The SQL of a recognised question, or null. */
  static String sql(String question) {
    String q = question.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9 ]", " ").replaceAll("\\s+", " ").trim();
    if (FAILED_MOST.matcher(q).find()) {
      return "SELECT feature_id, feature_name, count(*) AS failed_runs FROM test_runs WHERE status = 'failed' AND "
          + "started_at >= " + period(q, "date_trunc('week', now())") + " GROUP BY feature_id, feature_name "
          + "ORDER BY failed_runs DESC, feature_id LIMIT 10";
    }
    Matcher p = PERCENTILE.matcher(q);
    if (p.find()) {
      String unit = unit(q, "day");
      String aggregate;
      String name;
      if (p.group(2) != null) {
        int n = Integer.parseInt(p.group(2));
        if (n < 1 || n > 99) {
          return null;
        }
        aggregate = "percentile_cont(" + (n / 100.0) + ") WITHIN GROUP (ORDER BY duration_ms)";
        name = "p" + n + "_ms";
      } else if (p.group(1).equals("median")) {
        aggregate = "percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)";
        name = "median_ms";
      } else {
        aggregate = "avg(duration_ms)";
        name = "avg_ms";
      }
      boolean runs = p.group(3).startsWith("run") || q.contains("test run");
      String view = runs ? "test_runs" : "sandbox_jobs";
      String count = runs ? "runs" : "jobs";
      return "SELECT date_trunc('" + unit + "', started_at) AS " + unit + ", " + aggregate + " AS " + name
          + ", count(*) AS " + count + " FROM " + view + " WHERE duration_ms IS NOT NULL"
          + since(q, " AND started_at >= ") + " GROUP BY 1 ORDER BY 1";
    }
    Matcher c = PER_CORE.matcher(q);
    if (c.find()) {
      String what = c.group(1) != null ? c.group(1) : c.group(2);
      String level = what.startsWith("error") ? " AND level_num >= 4" : what.startsWith("warning")
          ? " AND level_num >= 3" : "";
      String column = what.startsWith("error") ? "errors" : what.startsWith("warning") ? "warnings" : "lines";
      String from = period(q, "now() - INTERVAL '1 day'");
      if (!PER_UNIT.matcher(q).find()) {
        return null; // one grouping: the structured query has it ("errors by core today")
      }
      String unit = unit(q, "hour");
      return "SELECT core, date_trunc('" + unit + "', ts) AS " + unit + ", count(*) AS " + column + " FROM logs "
          + "WHERE ts >= " + from + level + " GROUP BY core, " + unit + " ORDER BY " + unit + ", core";
    }
    return null;
  }

  /** The time unit after "per" (hour, day ...), or the default. */
  private static String unit(String q, String otherwise) {
    Matcher m = PER_UNIT.matcher(q);
    return m.find() ? m.group(2) : otherwise;
  }

  /** " AND started_at >= ..." when the question names a period, else nothing. */
  private static String since(String q, String prefix) {
    String p = period(q, null);
    return p == null ? "" : prefix + p;
  }

  /** The start of the period the question names, as SQL over now() (the session's time zone: UTC). */
  private static String period(String q, String otherwise) {
    Matcher last = LAST.matcher(q);
    if (last.find()) {
      return "now() - INTERVAL '" + Integer.parseInt(last.group(1)) + " " + last.group(2) + "s'";
    }
    Matcher one = LAST_ONE.matcher(q);
    if (one.find()) {
      return "now() - INTERVAL '1 " + one.group(1) + "'";
    }
    if (q.contains("since yesterday") || q.contains("yesterday")) {
      return "date_trunc('day', now()) - INTERVAL '1 day'";
    }
    if (q.contains("today")) {
      return "date_trunc('day', now())";
    }
    if (q.contains("this week")) {
      return "date_trunc('week', now())";
    }
    if (q.contains("last week")) {
      return "date_trunc('week', now()) - INTERVAL '1 week'";
    }
    if (q.contains("this month")) {
      return "date_trunc('month', now())";
    }
    return otherwise;
  }
}
