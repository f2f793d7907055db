package heyken.actors.postgres;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The {@code heyken.postgres} settings: where the log store is and how the cores use it. {@code url} (a JDBC URL)
 * wins over host/port/database when set; the user and password always come from their own keys.
 */
public record PostgresSettings(
    String url,
    String host,
    int port,
    String database,
    String user,
    String password,
    String queryPassword,
    int poolSize,
    Duration connectTimeout,
    Duration statementTimeout,
    Duration migrateRetryInterval,
    int partitionsAhead) {

  public static PostgresSettings from(Config config) {
    Config c = config.getConfig("heyken.postgres");
    return new PostgresSettings(
        c.getString("url").trim(),
        c.getString("host"),
        c.getInt("port"),
        c.getString("database"),
        c.getString("user"),
        c.getString("password"),
        c.getString("query-password"),
        c.getInt("pool-size"),
        c.getDuration("connect-timeout"),
        c.getDuration("statement-timeout"),
        c.getDuration("migrate-retry-interval"),
        c.getInt("partitions-ahead"));
  }

  /** Settings for a server at host:port (tests, tools), with the defaults of application.conf otherwise. */
  public static PostgresSettings of(String host, int port, String database, String user, String password) {
    return new PostgresSettings("", host, port, database, user, password, "", 6, Duration.ofSeconds(2),
        Duration.ofSeconds(5), Duration.ofSeconds(2), 2);
  }

  public PostgresSettings withStatementTimeout(Duration timeout) {
    return new PostgresSettings(url, host, port, database, user, password, queryPassword, poolSize, connectTimeout,
        timeout, migrateRetryInterval, partitionsAhead);
  }

  /** The JDBC URL the cores connect to. */
  public String jdbcUrl() {
    if (!url.isEmpty()) {
      return url;
    }
    return "jdbc:postgresql://" + host + ":" + port + "/" + database;
  }

  /** The URL without credentials (a URL may carry {@code password=...}), for status pages and logs. */
  public String redactedUrl() {
    return jdbcUrl().replaceAll("(?i)(password=)[^&]*", "$1***").replaceAll("//[^@/]*@", "//***@");
  }
}
