package heyken.actors.logs.question;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Turns common log questions into a structured query without a language model: levels ("errors", "warnings"),
 * components ("from sandbox", synonyms such as docker or ollama), "core 2", "feature weather", times ("in the last
 * hour", "last 30 minutes", "today", "yesterday", "since yesterday", "since 2026-11-25"), text ("containing
 * timeout", quoted words), counting ("how many … per component", "by hour") and limits ("last 20 errors", "top 5").
 * Each recognised phrase is blanked out of the question; a question in which nothing was recognised, or that names
 * something it cannot map (an unknown component, core 3), is not understood and says why. Words left over are
 * reported as ignored. The result is a draft that still goes through the {@link QueryValidator}.
 */
final class RuleParser {

  /** Either a draft query (and the words it ignored) or why the question was not understood. */
  record Result(ObjectNode draft, String problem, List<String> ignored) {
    boolean understood() {
      return draft != null;
    }
  }

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final int FLAGS = Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE;

  private static final String UNIT_WORDS = "seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?";
  private static final String UNITS = UNIT_WORDS + "|s|m|h|d|w";
  private static final String NUMBER_WORDS = "a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve";
  private static final String STOP = "from|in|on|since|during|within|over|today|yesterday|last|past|per|by|for|until"
      + "|before|after|at|and|or|of|the|with|containing|contains|where|which|that|who|to|grouped|group";

  private static final Pattern CONTAINING = Pattern.compile(
      "\\b(?:containing|contains|contain|mentioning|mentions|mention|matching|saying|with\\s+(?:the\\s+)?"
          + "(?:text|message|words?|string))\\s+(?:the\\s+(?:text|words?)\\s+)?"
          + "(?:\"([^\"]{1,300})\"|'([^']{1,300})'|“([^”]{1,300})”|`([^`]{1,300})`"
          + "|(.+?)(?=\\s+(?:" + STOP + ")\\b|\\s*[?.!]*\\s*$))", FLAGS);
  private static final Pattern QUOTED = Pattern.compile(
      "(?<![\\w])(?:\"([^\"]{1,300})\"|'([^']{1,300})'|“([^”]{1,300})”)(?![\\w])", FLAGS);
  private static final Pattern GROUP = Pattern.compile(
      "\\b(?:per|by|for\\s+each|for\\s+every|each|every|grouped\\s+by|group\\s+by|broken\\s+down\\s+by|breakdown\\s+by"
          + "|split\\s+by|which)\\s+(level|component|core|feature|hour|day)s?\\b", FLAGS);
  private static final Pattern GROUP_ADVERB = Pattern.compile("\\b(hourly|daily)\\b", FLAGS);
  private static final Pattern FEATURE = Pattern.compile(
      "\\bfeature\\s+(?:id\\s+|named\\s+|called\\s+)?[`'\"]?([a-z0-9][a-z0-9-]{0,62})[`'\"]?(?![\\w-])", FLAGS);
  private static final Pattern CORE = Pattern.compile(
      "\\bcore\\s*[-_#]?\\s*(\\d{1,9}|one|two|three)\\b|\\b(first|second|third)\\s+core\\b", FLAGS);
  private static final Pattern SINCE_TIME = Pattern.compile(
      "\\b(since|from|after|starting|until|till|before|to)\\s+(\\d{4}-\\d{2}-\\d{2}(?:[t ]\\d{2}:\\d{2}(?::\\d{2}"
          + "(?:\\.\\d{1,9})?)?(?:z|[+-]\\d{2}:?\\d{2})?)?)(?![\\w:])", FLAGS);
  private static final Pattern LAST_N = Pattern.compile(
      "\\b(?:(?:in|during|within|over|for)\\s+)?(?:the\\s+)?(?:last|past|previous)\\s+(?:(\\d{1,6}|" + NUMBER_WORDS
          + ")\\s*(" + UNITS + ")|(" + UNIT_WORDS + "))\\b", FLAGS);
  private static final Pattern AGO = Pattern.compile(
      "\\b(?:since\\s+)?(\\d{1,6}|" + NUMBER_WORDS + ")\\s*(" + UNITS + ")\\s+ago\\b", FLAGS);
  private static final Pattern SINCE_YESTERDAY = Pattern.compile("\\b(?:since|from|after)\\s+yesterday\\b", FLAGS);
  private static final Pattern YESTERDAY = Pattern.compile("\\b(?:(?:during|for|of|from)\\s+)?yesterday(?:'s)?\\b", FLAGS);
  private static final Pattern TODAY = Pattern.compile(
      "\\b(?:(?:since|during|for|of|from)\\s+)?(?:today(?:'s)?|this\\s+day)\\b", FLAGS);
  private static final Pattern LIMIT = Pattern.compile(
      "\\b(?:top|first|last|latest|newest|recent|limit(?:ed)?(?:\\s+to)?|max(?:imum)?|show(?:\\s+me)?|give(?:\\s+me)?"
          + "|only)\\s+(\\d{1,30})\\b(?!\\s*(?:" + UNITS + ")\\b)"
          + "|\\b(\\d{1,30})\\s+(?:lines?|errors?|warnings?|entries|entry|messages?|logs?|events?|rows?|results?)\\b",
      FLAGS);
  private static final Pattern COUNTING = Pattern.compile(
      "\\b(?:how\\s+many|how\\s+often|count(?:s|ed)?|number\\s+of|statistics|stats|breakdown|tally|totals?)\\b", FLAGS);
  private static final Pattern LISTING = Pattern.compile(
      "\\b(?:logs?|lines?|log\\s+lines|entries|messages|events|everything|happened|going\\s+on)\\b", FLAGS);
  private static final Pattern NAMED_COMPONENT = Pattern.compile(
      "\\bcomponents?\\s+[`'\"]?([\\p{L}\\p{N}_.$-]+)[`'\"]?", FLAGS);
  private static final Pattern FROM_WORD = Pattern.compile(
      "\\b(?:from)\\s+(?:the\\s+|a\\s+|an\\s+)?([\\p{L}\\p{N}_.$-]+)", FLAGS);
  private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}_$-]+");

  private static final Map<String, String> LEVEL_WORDS = Map.ofEntries(
      Map.entry("error", "ERROR"), Map.entry("errors", "ERROR"), Map.entry("err", "ERROR"),
      Map.entry("failure", "ERROR"), Map.entry("failures", "ERROR"), Map.entry("exception", "ERROR"),
      Map.entry("exceptions", "ERROR"), Map.entry("fatal", "ERROR"), Map.entry("critical", "ERROR"),
      Map.entry("severe", "ERROR"), Map.entry("warn", "WARN"), Map.entry("warns", "WARN"),
      Map.entry("warning", "WARN"), Map.entry("warnings", "WARN"), Map.entry("info", "INFO"),
      Map.entry("infos", "INFO"), Map.entry("debug", "DEBUG"), Map.entry("trace", "TRACE"),
      Map.entry("traces", "TRACE"));

  /** Other words people use for a component; only used when that component is known. */
  private static final Map<String, String> SYNONYMS = Map.ofEntries(
      Map.entry("docker", "sandbox"), Map.entry("bubblewrap", "sandbox"), Map.entry("container", "sandbox"),
      Map.entry("containers", "sandbox"), Map.entry("sandboxes", "sandbox"), Map.entry("ollama", "llm"),
      Map.entry("model", "llm"), Map.entry("chat", "bot"), Map.entry("rocketchat", "bot"),
      Map.entry("rocket.chat", "bot"), Map.entry("conversation", "bot"), Map.entry("conversations", "bot"),
      Map.entry("heyken_bot", "bot"), Map.entry("mongo", "store"), Map.entry("mongodb", "store"),
      Map.entry("database", "store"), Map.entry("journal", "persistence"),
      Map.entry("api", "http"), Map.entry("apis", "http"), Map.entry("routes", "http"), Map.entry("status", "monitor"),
      Map.entry("pipeline", "feature"), Map.entry("pipelines", "feature"), Map.entry("features", "feature"),
      Map.entry("coremanager", "core"), Map.entry("failover", "core"), Map.entry("akka", "pekko"),
      Map.entry("replay", "audit"));
  private static final Pattern MULTI_WORD_COMPONENT = Pattern.compile(
      "\\b(core\\s+manager|language\\s+model|rocket\\s+chat|component\\s+registry|system\\s+monitor)\\b", FLAGS);
  private static final Map<String, String> MULTI_WORD = Map.of("core manager", "core", "language model", "llm",
      "rocket chat", "bot", "component registry", "registry", "system monitor", "monitor");

  /** Components whose names are also ordinary words here: only "component logs" (etc.) names them. */
  private static final Set<String> AMBIGUOUS = Set.of("core", "feature", "logs", "other");

  /** Words that carry no filter; anything else left over is reported as ignored. */
  private static final Set<String> FILLER = Set.copyOf(List.of("a", "an", "the", "show", "me", "list", "give", "get", "find",
      "fetch", "display", "print", "tell", "what", "which", "were", "was", "are", "is", "be", "been", "there", "any",
      "all", "from", "in", "on", "of", "and", "or", "with", "for", "at", "to", "by", "per", "logged", "log", "logs",
      "line", "lines", "entries", "entry", "messages", "message", "events", "event", "please", "can", "could", "you",
      "i", "we", "my", "our", "see", "want", "need", "would", "like", "did", "do", "does", "have", "has", "had",
      "happened", "happen", "going", "recent", "recently", "latest", "newest", "new", "everything", "anything",
      "level", "levels", "component", "components", "core", "cores", "that", "this", "these", "those", "about",
      "only", "just", "some", "many", "much", "how", "most", "more", "than", "above", "or", "higher", "worse",
      "least", "so", "far", "ever", "during", "since", "time", "now", "up", "system", "heyken", "it", "its", "lot",
      "lots", "occurred", "occur", "produced", "written", "raised", "thrown", "there", "where", "when", "who", "why",
      "s", "both", "together", "overall", "total", "inside", "within", "over"));

  private static final Map<String, Integer> NUMBERS = Map.ofEntries(Map.entry("a", 1), Map.entry("an", 1),
      Map.entry("one", 1), Map.entry("two", 2), Map.entry("three", 3), Map.entry("four", 4), Map.entry("five", 5),
      Map.entry("six", 6), Map.entry("seven", 7), Map.entry("eight", 8), Map.entry("nine", 9), Map.entry("ten", 10),
      Map.entry("eleven", 11), Map.entry("twelve", 12), Map.entry("first", 1), Map.entry("second", 2),
      Map.entry("third", 3));

  Result parse(String question, Collection<String> components) {
    String source = question.replaceAll("[\\p{Cntrl}\\p{Zl}\\p{Zp}]", " ");
    var work = new Work(source);
    ObjectNode draft = NODES.objectNode();
    boolean recognised = false;

    // text first: what is quoted or follows "containing" is matched literally and never read as a filter
    recognised |= work.take(CONTAINING, m -> draft.put("text", clean(firstGroup(m, 1, 5))));
    if (!draft.has("text")) {
      recognised |= work.take(QUOTED, m -> draft.put("text", clean(firstGroup(m, 1, 3))));
    }
    recognised |= work.take(GROUP, m -> draft.put("group_by", m.group(1).toLowerCase(Locale.ROOT)));
    if (!draft.has("group_by")) {
      recognised |= work.take(GROUP_ADVERB,
          m -> draft.put("group_by", m.group(1).equalsIgnoreCase("hourly") ? "hour" : "day"));
    }
    var problems = new ArrayList<String>();
    recognised |= work.take(FEATURE, m -> {
      String id = m.group(1).toLowerCase(Locale.ROOT);
      if (!id.matches(STOP)) {
        draft.put("feature", id);
      }
    });
    recognised |= work.take(CORE, m -> {
      String n = (m.group(1) != null ? m.group(1) : m.group(2)).toLowerCase(Locale.ROOT);
      Integer core = NUMBERS.containsKey(n) ? NUMBERS.get(n) : n.length() > 3 ? Integer.MAX_VALUE : Integer.parseInt(n);
      if (core < 1 || core > QueryValidator.CORES) {
        problems.add("there is no core " + QueryValidator.shorten(n) + ": Heyken runs core 1 and core 2");
      } else {
        draft.put("core", core);
      }
    });
    recognised |= work.take(SINCE_TIME, m -> {
      String word = m.group(1).toLowerCase(Locale.ROOT);
      boolean end = word.equals("until") || word.equals("till") || word.equals("before") || word.equals("to");
      draft.put(end ? "until" : "since", m.group(2));
    });
    recognised |= work.take(LAST_N, m -> draft.put("since", relative(m.group(1), m.group(2) != null ? m.group(2)
        : m.group(3))));
    recognised |= work.take(AGO, m -> draft.put("since", relative(m.group(1), m.group(2))));
    recognised |= work.take(SINCE_YESTERDAY, m -> draft.put("since", "yesterday"));
    recognised |= work.take(YESTERDAY, m -> {
      draft.put("since", "yesterday");
      draft.put("until", "today");
    });
    recognised |= work.take(TODAY, m -> draft.put("since", "today"));
    recognised |= work.take(LIMIT, m -> {
      String n = m.group(1) != null ? m.group(1) : m.group(2);
      draft.set("limit", NODES.numberNode(new BigInteger(n)));
    });
    recognised |= work.take(MULTI_WORD_COMPONENT,
        m -> component(draft, MULTI_WORD.get(m.group(1).toLowerCase(Locale.ROOT).replaceAll("\\s+", " ")),
            components, problems));
    recognised |= work.take(NAMED_COMPONENT, m -> {
      String name = m.group(1).toLowerCase(Locale.ROOT);
      if (components.contains(name)) {
        component(draft, name, components, problems);
      } else {
        problems.add("'" + QueryValidator.shorten(m.group(1)) + "' is not a component I know (known: "
            + String.join(", ", components.stream().sorted().toList()) + ")");
      }
    });
    // a name after "from" must be a component: an unknown one is said, not silently dropped
    Matcher from = FROM_WORD.matcher(work.text());
    while (from.find()) {
      String name = from.group(1).toLowerCase(Locale.ROOT).replaceAll("[.]+$", "");
      if (!name.isEmpty() && componentFor(name, components) == null && !FILLER.contains(name)
          && !LEVEL_WORDS.containsKey(name)) {
        problems.add("'" + QueryValidator.shorten(from.group(1)) + "' is not a component I know (known: "
            + String.join(", ", components.stream().sorted().toList()) + ")");
      }
    }
    boolean counting = work.take(COUNTING, m -> { });
    recognised |= counting;
    boolean listing = LISTING.matcher(work.text()).find();

    var levels = new LinkedHashSet<String>();
    var ignored = new ArrayList<String>();
    Matcher words = WORD.matcher(work.text());
    while (words.find()) {
      String word = words.group().toLowerCase(Locale.ROOT);
      if (LEVEL_WORDS.containsKey(word)) {
        levels.add(LEVEL_WORDS.get(word));
      } else if (componentFor(word, components) != null) {
        component(draft, componentFor(word, components), components, problems);
      } else if (!FILLER.contains(word) && ignored.size() < 10) {
        ignored.add(QueryValidator.shorten(words.group()));
      }
    }
    if (!levels.isEmpty()) {
      // "errors and warnings" is everything from WARN up: the lowest level named is the minimum
      draft.put("level", QueryValidator.LEVELS.stream().filter(levels::contains).findFirst().orElseThrow());
      recognised = true;
    }
    if (draft.has("component")) {
      recognised = true;
    }
    if (counting && !draft.has("group_by")) {
      draft.put("group_by", "level");
    }
    if (!problems.isEmpty()) {
      return new Result(null, String.join("; ", problems), ignored);
    }
    if (!recognised && !listing) {
      return new Result(null, "nothing in it names a level, component, core, feature, time, text or count",
          ignored);
    }
    if (!recognised && !ignored.isEmpty()) {
      // only "logs" was understood: listing everything would ignore what the question is really about
      return new Result(null, "nothing in it names a level, component, core, feature, time, text or count, and I "
          + "do not know the words " + ignored.stream().map(w -> "'" + w + "'").collect(Collectors.joining(", ")),
          ignored);
    }
    return new Result(draft, null, List.copyOf(ignored));
  }

  private static void component(ObjectNode draft, String name, Collection<String> components, List<String> problems) {
    if (name == null || !components.contains(name)) {
      return;
    }
    if (draft.has("component") && !draft.get("component").textValue().equals(name)) {
      problems.add("one component at a time: the question names " + draft.get("component").textValue() + " and "
          + name);
      return;
    }
    draft.put("component", name);
  }

  private static String componentFor(String word, Collection<String> components) {
    if (components.contains(word) && !AMBIGUOUS.contains(word)) {
      return word;
    }
    String synonym = SYNONYMS.get(word);
    return synonym != null && components.contains(synonym) ? synonym : null;
  }

  private static String relative(String amount, String unit) {
    long n = amount == null ? 1 : NUMBERS.containsKey(amount.toLowerCase(Locale.ROOT))
        ? NUMBERS.get(amount.toLowerCase(Locale.ROOT)) : Long.parseLong(amount);
    String u = unit.toLowerCase(Locale.ROOT);
    char c = u.startsWith("mi") || u.equals("m") ? 'm' : u.charAt(0); // minutes before months: no months here
    return "-" + n + c;
  }

  private static String firstGroup(Matcher m, int from, int to) {
    for (int i = from; i <= to; i++) {
      if (m.group(i) != null) {
        return m.group(i);
      }
    }
    return "";
  }

  private static String clean(String text) {
    return text.strip().replaceAll("[?!.,;]+$", "").strip();
  }

  /** The question with every recognised phrase blanked out (same length, so positions stay valid). */
  private static final class Work {
    private final char[] chars;

    Work(String source) {
      this.chars = source.toCharArray();
    }

    String text() {
      return new String(chars);
    }

    /** Applies {@code action} to each match and blanks it; true when something matched. */
    boolean take(Pattern pattern, Consumer<Matcher> action) {
      Matcher m = pattern.matcher(text());
      boolean any = false;
      while (m.find()) {
        action.accept(m);
        java.util.Arrays.fill(chars, m.start(), m.end(), ' ');
        any = true;
      }
      return any;
    }
  }
}
