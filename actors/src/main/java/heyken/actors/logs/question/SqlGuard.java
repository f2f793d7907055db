package heyken.actors.logs.question;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.sf.jsqlparser.expression.AnalyticExpression;
import net.sf.jsqlparser.expression.CastExpression;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.expression.JdbcNamedParameter;
import net.sf.jsqlparser.expression.JdbcParameter;
import net.sf.jsqlparser.expression.LongValue;
import net.sf.jsqlparser.expression.UserVariable;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.Statements;
import net.sf.jsqlparser.statement.select.LateralSubSelect;
import net.sf.jsqlparser.statement.select.Limit;
import net.sf.jsqlparser.statement.select.ParenthesedSelect;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SetOperationList;
import net.sf.jsqlparser.statement.select.TableFunction;
import net.sf.jsqlparser.statement.select.WithItem;
import net.sf.jsqlparser.util.TablesNamesFinder;

/**
 * Checks the model's SQL before anything runs it, with a real SQL parser (JSqlParser): exactly one {@code SELECT}
 * (a second statement after {@code ;} or hidden behind a comment is a second statement to the parser, and only the
 * parser's own re-printing of the checked statement is ever run, without comments); only the views of
 * {@link SqlViews} (and the statement's own top-level {@code WITH} names) as tables, never schema-qualified; only the
 * functions and cast types of an allowlist; no writable or recursive {@code WITH}, no {@code SELECT INTO}, no locking
 * clause, no parameters; the log view read at most once (no join of the log lines with themselves); a {@code LIMIT}
 * added or clamped. The re-printed SQL is scanned once more for any {@code name(} that is not allowed, as a second net
 * under the parse tree. Whatever passes still runs as the read-only role ({@link ReadOnlyQueries}).
 */
final class SqlGuard {

  static final int MAX_SQL_CHARS = 4000;

  /** Functions the model may call: aggregates, time and text helpers, window functions. Nothing with side effects. */
  static final Set<String> FUNCTIONS = Set.of(
      "count", "sum", "avg", "min", "max", "percentile_cont", "percentile_disc", "mode", "stddev", "stddev_pop",
      "stddev_samp", "variance", "var_pop", "var_samp", "bool_and", "bool_or", "every",
      "date_trunc", "date_part", "date_bin", "extract", "now", "age", "to_char", "timezone",
      "coalesce", "nullif", "greatest", "least",
      "lower", "upper", "length", "char_length", "trim", "btrim", "ltrim", "rtrim", "substr", "substring", "left",
      "right", "position", "strpos", "replace", "split_part", "concat",
      "round", "floor", "ceil", "ceiling", "abs", "trunc", "sign",
      "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value",
      "last_value");

  /** Types a value may be cast to. */
  static final Set<String> CAST_TYPES = Set.of("text", "varchar", "character varying", "char", "character", "int",
      "integer", "int4", "int8", "bigint", "smallint", "int2", "numeric", "decimal", "real", "float", "float4", "float8",
      "double precision", "boolean", "bool", "date", "time", "timestamp", "timestamptz", "timestamp with time zone",
      "timestamp without time zone", "interval", "json", "jsonb");

  /** Words that may stand before "(" in SQL without being a function call. */
  private static final Set<String> NOT_CALLS = Set.of("select", "from", "where", "and", "or", "not", "in", "exists",
      "any", "all", "some", "over", "filter", "as", "by", "on", "join", "using", "values", "lateral", "within", "group",
      "partition", "order", "cast", "case", "when", "then", "else", "end", "distinct", "union", "intersect", "except",
      "row", "array", "is", "between", "like", "ilike", "to", "having", "limit", "offset", "interval", "with", "asc",
      "desc", "cross", "inner", "left", "right", "full", "outer", "nulls", "first", "last", "escape", "varying",
      "precision", "zone", "both", "leading", "trailing", "for");

  private static final Pattern CALL = Pattern.compile("(\"(?:[^\"]|\"\")*\"|[A-Za-z_][A-Za-z0-9_]*)"
      + "((?:\\s*\\.\\s*(?:\"(?:[^\"]|\"\")*\"|[A-Za-z_][A-Za-z0-9_]*))*)\\s*\\(");
  private static final Pattern STRING = Pattern.compile("'(?:[^']|'')*'");
  private static final Pattern CTE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private final int defaultLimit;
  private final int maxLimit;

  SqlGuard(int defaultLimit, int maxLimit) {
    this.defaultLimit = defaultLimit;
    this.maxLimit = maxLimit;
  }

  /** The SQL to run (re-printed by the parser, limit in place) and notes; or why it was refused. */
  record Verdict(String sql, List<String> notes, String refusal) {
    boolean passed() {
      return refusal == null;
    }

    static Verdict refused(String why) {
      return new Verdict(null, List.of(), why);
    }
  }

  Verdict check(String sql) {
    if (sql == null || sql.isBlank()) {
      return Verdict.refused("no SQL");
    }
    if (sql.length() > MAX_SQL_CHARS) {
      return Verdict.refused("the SQL has " + sql.length() + " characters, at most " + MAX_SQL_CHARS);
    }
    Verdict first = checkOnce(sql);
    if (!first.passed()) {
      return first;
    }
    // what runs is the parser's re-printing: it must pass the same checks and print the same again
    Verdict again = checkOnce(first.sql());
    if (!again.passed() || !again.sql().equals(first.sql())) {
      return Verdict.refused("the SQL does not survive a round trip through the parser"
          + (again.passed() ? "" : " (" + again.refusal() + ")"));
    }
    return first;
  }

  private Verdict checkOnce(String sql) {
    Statements statements;
    try {
      statements = CCJSqlParserUtil.newParser(sql).Statements();
    } catch (Exception | StackOverflowError e) {
      return Verdict.refused("not valid SQL (" + firstLine(e.getMessage()) + ")");
    }
    if (statements == null || statements.size() != 1) {
      return Verdict.refused("exactly one statement is allowed, this is " + (statements == null ? 0
          : statements.size()) + " (a ';' ends a statement)");
    }
    Statement statement = statements.get(0);
    if (!(statement instanceof Select select)) {
      return Verdict.refused("only a SELECT is allowed, not " + kind(statement));
    }
    var problems = new LinkedHashSet<String>();
    var scope = new TreeSet<>(SqlViews.NAMES);
    var weights = new HashMap<String, Integer>(); // how many times each name reads the log view
    weights.put(SqlViews.LOGS.name(), 1);
    List<WithItem<?>> with = select.getWithItemsList();
    try {
      if (with != null) {
        for (WithItem<?> item : with) {
          String name = item.getUnquotedAliasName() == null ? "" : item.getUnquotedAliasName();
          if (item.isRecursive()) {
            problems.add("WITH RECURSIVE is not allowed");
          }
          if (!(item.getParenthesedStatement() instanceof ParenthesedSelect body)) {
            problems.add("WITH " + name + " holds a data-changing statement (a writable CTE): only SELECT is allowed");
            continue;
          }
          if (!CTE_NAME.matcher(name).matches() || name.startsWith("pg_") || SqlViews.NAMES.contains(name)) {
            problems.add("WITH name '" + name + "' is not allowed (lower-case letters, digits and _, not pg_..., not "
                + "the name of a view)");
            continue;
          }
          var walker = new Walker(scope);
          walker.walk(body);
          problems.addAll(walker.problems);
          weights.put(name, weight(walker.references, weights));
          scope.add(name);
        }
      }
      select.setWithItemsList(null);
      var walker = new Walker(scope);
      try {
        walker.walk(select);
      } finally {
        select.setWithItemsList(with);
      }
      problems.addAll(walker.problems);
      int logReads = weight(walker.references, weights);
      if (logReads > 1) {
        problems.add("the log view is read " + logReads + " times: a join of the log lines with themselves is not "
            + "allowed (read logs once, with GROUP BY)");
      }
    } catch (RuntimeException e) {
      problems.add("uses SQL the guard does not accept (" + firstLine(e.getMessage()) + ")");
    }
    if (!problems.isEmpty()) {
      return Verdict.refused(String.join("; ", problems));
    }
    var notes = new ArrayList<String>();
    String printed;
    try {
      printed = limit(select, notes);
    } catch (IllegalArgumentException e) {
      return Verdict.refused(e.getMessage());
    }
    String scanned = scan(printed);
    if (scanned != null) {
      return Verdict.refused(scanned);
    }
    return new Verdict(printed, notes, null);
  }

  private static int weight(Map<String, Integer> references, Map<String, Integer> weights) {
    int total = 0;
    for (var e : references.entrySet()) {
      total += e.getValue() * weights.getOrDefault(e.getKey(), 0);
    }
    return total;
  }

  /**
   * Adds the default limit or clamps the given one, and prints the statement. A UNION is wrapped
   * ({@code SELECT * FROM (...) AS q LIMIT n}) so that the limit bounds the whole of it after a round trip.
   */
  private String limit(Select select, List<String> notes) {
    Long requested = null;
    boolean given = false;
    if (select.getFetch() != null) {
      given = true;
      var fetch = select.getFetch();
      requested = fetch.getExpression() instanceof LongValue v ? v.getValue() : null;
      select.setFetch(null);
    }
    Limit limit = select.getLimit();
    if (limit != null) {
      if (limit.getOffset() != null) {
        throw new IllegalArgumentException("LIMIT a, b is not PostgreSQL: write LIMIT b OFFSET a");
      }
      given = true;
      requested = limit.getRowCount() instanceof LongValue v && !limit.isLimitAll() && !limit.isLimitNull()
          ? Long.valueOf(v.getValue()) : null;
    }
    long rows;
    if (!given) {
      rows = defaultLimit;
      notes.add("LIMIT " + defaultLimit + " added");
    } else if (requested == null || requested > maxLimit) {
      rows = maxLimit;
      notes.add("limit " + (requested == null ? "(not a number)" : requested) + " clamped to the maximum " + maxLimit);
    } else if (requested < 0) {
      throw new IllegalArgumentException("a negative LIMIT");
    } else {
      rows = requested;
    }
    if (select instanceof SetOperationList) {
      select.setLimit(null);
      return "SELECT * FROM (" + select + ") AS q LIMIT " + rows;
    }
    select.setLimit(new Limit().withRowCount(new LongValue(rows)));
    return select.toString();
  }

  /**
   * The second net, over the text that will run: no comment, no second statement, no dollar quoting or parameter,
   * and every {@code name(} outside string literals an allowed function, cast type or SQL keyword.
   */
  static String scan(String printed) {
    String code = STRING.matcher(printed).replaceAll("0");
    if (code.contains("'")) {
      return "an unterminated string";
    }
    if (code.contains(";") || code.contains("--") || code.contains("/*")) {
      return "a comment or a second statement";
    }
    if (code.contains("$") || code.contains("?")) {
      return "dollar quoting, parameters and the ? operators are not allowed";
    }
    Matcher m = CALL.matcher(code);
    while (m.find()) {
      String name = m.group(1);
      if (!m.group(2).isEmpty()) {
        return "calls " + (name + m.group(2)).replaceAll("\\s", "") + "(): schema-qualified functions are not allowed";
      }
      String bare = name.startsWith("\"") ? name.substring(1, name.length() - 1) : name.toLowerCase(Locale.ROOT);
      if (!FUNCTIONS.contains(bare) && !NOT_CALLS.contains(bare) && !CAST_TYPES.contains(bare)) {
        return "calls function " + bare + "(), which is not allowed";
      }
    }
    return null;
  }

  private static String kind(Statement s) {
    String name = s.getClass().getSimpleName().replace("Statement", "");
    return name.isEmpty() ? "this statement" : name.toUpperCase(Locale.ROOT) + " (" + firstLine(s.toString()) + ")";
  }

  static String firstLine(String s) {
    if (s == null) {
      return "no detail";
    }
    String line = s.strip().split("\n", 2)[0];
    return line.length() > 160 ? line.substring(0, 160) + "…" : line;
  }

  private static String unquoted(String name) {
    if (name == null) {
      return "";
    }
    if (name.length() > 1 && name.startsWith("\"") && name.endsWith("\"")) {
      return name.substring(1, name.length() - 1);
    }
    return name.toLowerCase(Locale.ROOT);
  }

  /** Walks one SELECT (without its top-level WITH): every table, function, cast and nested SELECT. */
  private static final class Walker extends TablesNamesFinder<Void> {
    private final Set<String> scope;
    final Map<String, Integer> references = new HashMap<>();
    // the finder may reach a table twice (FROM and the join list): each node counts once
    private final Set<Table> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    final Set<String> problems = new LinkedHashSet<>();

    Walker(Set<String> scope) {
      this.scope = Set.copyOf(scope);
    }

    void walk(Select select) {
      init(false);
      select.accept((net.sf.jsqlparser.statement.select.SelectVisitor<Void>) this, null);
    }

    private void select(Select s) {
      if (s.getForMode() != null || s.getForUpdateTable() != null) {
        problems.add("locking clauses (FOR UPDATE / FOR SHARE) are not allowed");
      }
    }

    @Override
    public <S> Void visit(PlainSelect plain, S context) {
      select(plain);
      if (plain.getIntoTables() != null || plain.getIntoTempTable() != null) {
        problems.add("SELECT INTO is not allowed");
      }
      return super.visit(plain, context);
    }

    @Override
    public <S> Void visit(SetOperationList list, S context) {
      select(list);
      return super.visit(list, context);
    }

    @Override
    public <S> Void visit(ParenthesedSelect parenthesed, S context) {
      select(parenthesed);
      return super.visit(parenthesed, context);
    }

    @Override
    public <S> Void visit(LateralSubSelect lateral, S context) {
      select(lateral);
      return super.visit(lateral, context);
    }

    @Override
    public <S> Void visit(WithItem<?> item, S context) {
      problems.add("WITH is allowed only at the start of the statement");
      return null;
    }

    @Override
    public <S> Void visit(Table table, S context) {
      if (!seen.add(table)) {
        return null;
      }
      if (table.getSchemaName() != null || table.getDatabaseName() != null) {
        problems.add("reads " + table.getFullyQualifiedName() + ": schema-qualified names (system catalogs) are not "
            + "allowed");
        return null;
      }
      String name = unquoted(table.getName());
      if (!scope.contains(name)) {
        problems.add("reads " + table.getName() + ": only the views " + String.join(", ", SqlViews.NAMES.stream()
            .sorted().toList()) + " may be read");
        return null;
      }
      references.merge(name, 1, Integer::sum);
      return null;
    }

    @Override
    public <S> Void visit(Function function, S context) {
      var parts = function.getMultipartName();
      if (parts != null && parts.size() > 1) {
        problems.add("calls " + String.join(".", parts) + "(): schema-qualified functions are not allowed");
      } else if (!FUNCTIONS.contains(unquoted(function.getName()))) {
        problems.add("calls function " + unquoted(function.getName()) + "(), which is not allowed");
      }
      return super.visit(function, context);
    }

    @Override
    public <S> Void visit(AnalyticExpression analytic, S context) {
      if (!FUNCTIONS.contains(unquoted(analytic.getName()))) {
        problems.add("calls function " + unquoted(analytic.getName()) + "(), which is not allowed");
      }
      return super.visit(analytic, context);
    }

    @Override
    public <S> Void visit(CastExpression cast, S context) {
      String type = cast.getColDataType() == null ? "" : cast.getColDataType().getDataType()
          .toLowerCase(Locale.ROOT).replaceAll("\\s+", " ").trim();
      if (!CAST_TYPES.contains(type)) {
        problems.add("casts to " + type + ", which is not allowed (allowed: text, int, bigint, numeric, double "
            + "precision, boolean, date, timestamp, timestamptz, interval, jsonb ...)");
      }
      return super.visit(cast, context);
    }

    @Override
    public <S> Void visit(TableFunction function, S context) {
      problems.add("functions in FROM are not allowed (" + firstLine(function.toString()) + ")");
      return null;
    }

    @Override
    public <S> Void visit(JdbcParameter parameter, S context) {
      problems.add("parameters are not allowed");
      return null;
    }

    @Override
    public <S> Void visit(JdbcNamedParameter parameter, S context) {
      problems.add("parameters are not allowed");
      return null;
    }

    @Override
    public <S> Void visit(UserVariable variable, S context) {
      problems.add("variables are not allowed");
      return null;
    }
  }
}
