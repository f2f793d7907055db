package heyken.actors.bot;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import heyken.protocol.CborSerializable;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a chat message asks of Heyken: one of the bot's commands, a deployed feature's chat command ({@code !weather
 * Paris}), or a question for the language model.
 *
 * <p>A command is one record here, registered in one place: its line in {@code @JsonSubTypes} below (the name its
 * confirmation is persisted under). The record carries everything about it: its {@link Grammar} (the help lines and
 * how a message is read as it), whether it is admin-only, and its {@link #accept} branch. {@link #parse} and
 * {@link #HELP} walk the registered grammars in that order, so help never disagrees with the parser. What a command
 * does is its method of {@link Handler} ({@link SystemBotActions}); a command without one does not compile.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = BotCommand.Help.class, name = "help"),
    @JsonSubTypes.Type(value = BotCommand.Status.class, name = "status"),
    @JsonSubTypes.Type(value = BotCommand.Logs.class, name = "logs"),
    @JsonSubTypes.Type(value = BotCommand.Features.class, name = "features"),
    @JsonSubTypes.Type(value = BotCommand.FeatureCreate.class, name = "feature-create"),
    @JsonSubTypes.Type(value = BotCommand.FeatureTest.class, name = "feature-test"),
    @JsonSubTypes.Type(value = BotCommand.Deploy.class, name = "deploy"),
    @JsonSubTypes.Type(value = BotCommand.Rollback.class, name = "rollback"),
    @JsonSubTypes.Type(value = BotCommand.Switch.class, name = "switch"),
    @JsonSubTypes.Type(value = BotCommand.SelfUpgrade.class, name = "upgrade"),
    @JsonSubTypes.Type(value = BotCommand.Services.class, name = "services"),
    @JsonSubTypes.Type(value = BotCommand.ServiceChange.class, name = "service-change"),
    @JsonSubTypes.Type(value = BotCommand.WhoAmI.class, name = "whoami"),
    @JsonSubTypes.Type(value = BotCommand.Invoke.class, name = "invoke"),
    @JsonSubTypes.Type(value = BotCommand.Question.class, name = "question"),
    @JsonSubTypes.Type(value = BotCommand.Malformed.class, name = "malformed")})
public sealed interface BotCommand extends CborSerializable {

  /** Whether only an admin may ask for it, after a yes/no confirmation. */
  default boolean adminOnly() {
    return false;
  }

  /** The action as it is named in confirmations and in the decision events. */
  default String action() {
    return getClass().getSimpleName().toLowerCase(Locale.ROOT);
  }

  /**
   * Runs the command's own branch of {@code handler}: every command has exactly one, and a command without one (or a
   * handler without a method for a command) does not compile. {@link SystemBotActions} is the handler that executes.
   */
  <R> R accept(Handler<R> handler);

  /** One method per command: the exhaustive switch over the commands, checked by the compiler. */
  interface Handler<R> {
    R help(Help command);

    R status(Status command);

    R logs(Logs command);

    R features(Features command);

    R featureCreate(FeatureCreate command);

    R featureTest(FeatureTest command);

    R deploy(Deploy command);

    R rollback(Rollback command);

    R switchCore(Switch command);

    R selfUpgrade(SelfUpgrade command);

    R services(Services command);

    R serviceChange(ServiceChange command);

    R whoAmI(WhoAmI command);

    R invoke(Invoke command);

    R question(Question command);

    R malformed(Malformed command);
  }

  /** One line of the help: a syntax and what it does. */
  record Syntax(String usage, String summary, boolean adminOnly) {}

  /**
   * A chat message as the grammars read it: the text without the bot's mention, and its words split at white space,
   * lower-cased ({@link #words}) and as typed ({@link #typed}).
   */
  record Message(String text, String[] words, String[] typed) {
    static Message of(String text) {
      return new Message(text, text.toLowerCase(Locale.ROOT).split("\\s+"), text.split("\\s+"));
    }

    /** Whether the message is exactly one word, {@code word}. */
    boolean is(String word) {
      return words.length == 1 && words[0].equals(word);
    }

    /** The message as a question for the language model. */
    Question question() {
      return new Question(text);
    }
  }

  /** Reads a message as one command: the command, a {@link Malformed} with its usage, or {@code null} (not this one). */
  @FunctionalInterface
  interface Reader {
    BotCommand read(Message message);
  }

  /** How a command is written: its lines of the help and its reader. */
  record Grammar(List<Syntax> help, Reader reader) {
    static Grammar of(String usage, String summary, boolean adminOnly, Reader reader) {
      return new Grammar(List.of(new Syntax(usage, summary, adminOnly)), reader);
    }

    /** A command that is one word and nothing else ({@code status}); more words make it a question. */
    static Grammar word(String word, String summary, BotCommand command) {
      return of(word, summary, false, m -> !m.words()[0].equals(word) ? null : m.is(word) ? command : m.question());
    }
  }

  Pattern FEATURE_ID = Pattern.compile("[1-9][0-9]{0,17}");

  record Help() implements BotCommand {
    static final Grammar GRAMMAR = Grammar.word("help", "this list", new Help());

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.help(this);
    }
  }

  record Status() implements BotCommand {
    static final Grammar GRAMMAR = Grammar.word("status",
        "which core is active, the epoch, and the components' health", new Status());

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.status(this);
    }
  }

  record Logs(int count, String level) implements BotCommand {
    static final Pattern SYNTAX = Pattern.compile(
        "logs(?:\\s+(\\d{1,4}))?(?:\\s+(trace|debug|info|warn|warning|error))?", Pattern.CASE_INSENSITIVE);
    static final Grammar GRAMMAR = Grammar.of("logs [n] [level]",
        "the newest n log lines (default 10, at most 50), at least at level", false, m -> {
          if (!m.words()[0].equals("logs")) {
            return null;
          }
          Matcher matched = SYNTAX.matcher(m.text());
          if (matched.matches()) {
            int n = matched.group(1) == null ? 10 : Integer.parseInt(matched.group(1));
            String level = matched.group(2) == null ? null
                : matched.group(2).toUpperCase(Locale.ROOT).replace("WARNING", "WARN");
            return new Logs(Math.max(1, Math.min(n, 50)), level);
          }
          return m.words().length <= 3 ? new Malformed("logs [n] [level], e.g. logs 20 warn") : m.question();
        });

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.logs(this);
    }
  }

  record Features() implements BotCommand {
    static final Grammar GRAMMAR = Grammar.word("features", "every feature with its status", new Features());

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.features(this);
    }
  }

  record FeatureCreate(String name, String description) implements BotCommand {
    static final Pattern SYNTAX = Pattern.compile("feature\\s+create\\s+([^:\\s]+)\\s*:\\s*(.+)",
        Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    static final Grammar GRAMMAR = Grammar.of("feature create <name>: <description>",
        "a new feature, written and tested by the language model", false, m -> {
          if (m.words().length < 2 || !m.words()[0].equals("feature") || !m.words()[1].equals("create")) {
            return null;
          }
          Matcher matched = SYNTAX.matcher(m.text());
          return matched.matches() ? new FeatureCreate(matched.group(1), matched.group(2).strip())
              : new Malformed("feature create <name>: <description>, e.g. feature create weather: the temperature "
                  + "for a city");
        });

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.featureCreate(this);
    }
  }

  record FeatureTest(String featureId) implements BotCommand {
    static final Grammar GRAMMAR = Grammar.of("feature test <id>",
        "test the newest revision of a feature in the sandbox", false, m -> {
          String[] w = m.words();
          if (w.length < 2 || !w[0].equals("feature") || !w[1].equals("test")) {
            return null;
          }
          return w.length == 3 && FEATURE_ID.matcher(w[2]).matches() ? new FeatureTest(w[2])
              : new Malformed("feature test <id>, e.g. feature test 3");
        });

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.featureTest(this);
    }
  }

  record Deploy(String featureId) implements BotCommand {
    static final Grammar GRAMMAR = Grammar.of("deploy <id>",
        "deploy the tested revision of a feature (admin, asks for a yes/no)", true, m -> oneFeature(m, "deploy",
            Deploy::new));

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.deploy(this);
    }

    @Override
    public boolean adminOnly() {
      return true;
    }
  }

  record Rollback(String featureId) implements BotCommand {
    static final Grammar GRAMMAR = Grammar.of("rollback <id>",
        "go back to the previous deployed revision (admin, asks for a yes/no)", true, m -> oneFeature(m, "rollback",
            Rollback::new));

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.rollback(this);
    }

    @Override
    public boolean adminOnly() {
      return true;
    }
  }

  /** {@code <verb> <id>}: the reader of the commands that name one feature. */
  private static BotCommand oneFeature(Message m, String verb, java.util.function.Function<String, BotCommand> make) {
    String[] w = m.words();
    if (!w[0].equals(verb)) {
      return null;
    }
    if (w.length == 2 && FEATURE_ID.matcher(w[1]).matches()) {
      return make.apply(w[1]);
    }
    return w.length <= 2 ? new Malformed(verb + " <id>, e.g. " + verb + " 3") : m.question();
  }

  record Switch(int core) implements BotCommand {
    static final Grammar GRAMMAR = Grammar.of("switch 1|2",
        "hand the active role to core 1 or 2 (admin, asks for a yes/no)", true, m -> {
          String[] w = m.words();
          if (!w[0].equals("switch")) {
            return null;
          }
          if (w.length == 2 && (w[1].equals("1") || w[1].equals("2"))) {
            return new Switch(Integer.parseInt(w[1]));
          }
          return w.length <= 2 ? new Malformed("switch 1|2") : m.question();
        });

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.switchCore(this);
    }

    @Override
    public boolean adminOnly() {
      return true;
    }
  }

  /** {@code upgrade <ref>}: Heyken upgrades itself to a git ref of its own repository (admin, confirmed). */
  record SelfUpgrade(String ref) implements BotCommand {
    static final Pattern REF = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/@^~-]{0,199}");
    static final Grammar GRAMMAR = Grammar.of("upgrade <ref>", "upgrade Heyken itself to a git ref of its "
        + "repository, standby first, rolled back on any failure (admin, asks for a yes/no)", true, m -> {
          if (!m.words()[0].equals("upgrade")) {
            return null;
          }
          if (m.words().length == 2 && REF.matcher(m.typed()[1]).matches()) {
            return new SelfUpgrade(m.typed()[1]);
          }
          return m.words().length <= 2 ? new Malformed("upgrade <ref>, e.g. upgrade main (a branch, tag or commit "
              + "of Heyken's repository)") : m.question();
        });

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.selfUpgrade(this);
    }

    @Override
    public boolean adminOnly() {
      return true;
    }

    @Override
    public String action() {
      return "upgrade";
    }
  }

  record Services() implements BotCommand {
    static final Grammar GRAMMAR = Grammar.word("services", "the registered components and their health",
        new Services());

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.services(this);
    }
  }

  /**
   * {@code service add <name> <image> [command...]}, {@code service stop|start|remove <name>}: a dynamic Docker
   * service (admin, confirmed). {@code image} and {@code command} only for add.
   */
  record ServiceChange(String verb, String name, String image, List<String> command) implements BotCommand {
    static final Pattern NAME = Pattern.compile("[a-z]([a-z0-9-]{0,38}[a-z0-9])?");
    static final List<String> VERBS = List.of("add", "stop", "start", "remove");
    static final Grammar GRAMMAR = new Grammar(List.of(
        new Syntax("service add <name> <image> [command...]", "run a Docker service from a local image (admin, asks "
            + "for a yes/no)", true),
        new Syntax("service stop|start|remove <name>", "stop, start or remove a Docker service (admin, asks for a "
            + "yes/no)", true)), ServiceChange::read);

    private static BotCommand read(Message m) {
      String[] w = m.words();
      String[] typed = m.typed();
      if (!w[0].equals("service")) {
        return null;
      }
      if (w.length >= 4 && w[1].equals("add") && NAME.matcher(typed[2]).matches()) {
        return new ServiceChange("add", typed[2], typed[3], List.of(typed).subList(4, typed.length));
      }
      if (w.length == 3 && VERBS.subList(1, 4).contains(w[1]) && NAME.matcher(typed[2]).matches()) {
        return new ServiceChange(w[1], typed[2], null, List.of());
      }
      return w.length <= 2 || VERBS.contains(w[1]) ? new Malformed("service add <name> <image> [command...] | "
          + "service stop|start|remove <name>, e.g. service add web sandbox/busybox:1 httpd -f -p 8080")
          : m.question();
    }

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.serviceChange(this);
    }

    @Override
    public boolean adminOnly() {
      return true;
    }

    @Override
    public String action() {
      return "service " + verb;
    }
  }

  record WhoAmI() implements BotCommand {
    static final Grammar GRAMMAR = Grammar.word("whoami", "your user id and whether you are an admin", new WhoAmI());

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.whoAmI(this);
    }
  }

  /** {@code !command args}: a deployed feature answering to {@code command}. */
  record Invoke(String command, String args) implements BotCommand {
    static final Pattern SYNTAX = Pattern.compile("!([a-z][a-z0-9_-]{0,31})(?:\\s+(.*))?", Pattern.DOTALL);
    static final Grammar GRAMMAR = Grammar.of("!<command> [args]", "run a deployed feature, e.g. !weather Paris",
        false, m -> {
          if (!m.text().startsWith("!")) {
            return null;
          }
          Matcher matched = SYNTAX.matcher(m.text());
          return matched.matches() ? new Invoke(matched.group(1), matched.group(2) == null ? ""
              : matched.group(2).strip()) : new Malformed("!<command> [args] — a deployed feature's command: "
                  + "lower-case letters, digits, '_', '-'");
        });

    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.invoke(this);
    }
  }

  /** Anything else: a question for the language model (no grammar: what no command reads). */
  record Question(String text) implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.question(this);
    }
  }

  /** A command the parser recognised but whose arguments are wrong: the answer says how to write it (no grammar). */
  record Malformed(String usage) implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.malformed(this);
    }
  }

  /**
   * The grammars of the registered commands, in the order of {@code @JsonSubTypes}: each command's static
   * {@code GRAMMAR}. {@link Question} and {@link Malformed} have none; any other command without one is refused when
   * the registry is first read, so a forgotten grammar fails the first test that parses.
   */
  static List<Grammar> grammars() {
    return Registry.GRAMMARS;
  }

  /** Every line of the help, from {@link #grammars}. */
  static List<Syntax> registry() {
    return Registry.LINES;
  }

  /** The help text, from {@link #registry}. */
  static String help() {
    return Registry.HELP;
  }

  /** Reads a chat message; a mention of the bot in front ({@code @heyken_bot deploy 3}) is ignored. */
  static BotCommand parse(String raw, String botUsername) {
    String text = raw == null ? "" : raw.strip();
    if (botUsername != null && !botUsername.isEmpty()) {
      text = text.replaceFirst("^@" + Pattern.quote(botUsername) + "[:,]?\\s*", "");
    }
    Message message = Message.of(text);
    for (Grammar grammar : Registry.GRAMMARS) {
      BotCommand command = grammar.reader().read(message);
      if (command != null) {
        return command;
      }
    }
    return message.question();
  }

  /**
   * The registry, built from the registration ({@code @JsonSubTypes}) when it is first read. It is a holder of its
   * own, not fields of the interface: a command record's class initialisation initialises this interface first (it
   * has default methods), and reading the records' grammars then would see the one under initialisation as null.
   */
  final class Registry {
    private static final List<Grammar> GRAMMARS = grammars();
    private static final List<Syntax> LINES = GRAMMARS.stream().flatMap(g -> g.help().stream()).toList();
    private static final String HELP = helpText(LINES);

    private Registry() {}

    private static List<Grammar> grammars() {
      var grammars = new java.util.ArrayList<Grammar>();
      for (JsonSubTypes.Type type : BotCommand.class.getAnnotation(JsonSubTypes.class).value()) {
        Class<?> command = type.value();
        if (command == Question.class || command == Malformed.class) {
          continue;
        }
        try {
          var field = command.getDeclaredField("GRAMMAR");
          field.setAccessible(true);
          grammars.add((Grammar) field.get(null));
        } catch (ReflectiveOperationException | ClassCastException e) {
          throw new IllegalStateException("chat command " + command.getSimpleName() + " has no "
              + "'static final Grammar GRAMMAR' (docs/architecture.md, 'chat command')", e);
        }
      }
      return List.copyOf(grammars);
    }

    private static String helpText(List<Syntax> lines) {
      var b = new StringBuilder("Commands:\n");
      for (var s : lines) {
        b.append("  ").append(s.usage()).append(" — ").append(s.summary()).append('\n');
      }
      return b.append("Anything else is a question for the language model.").toString();
    }
  }
}
