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
 * Paris}), or a question for the language model. {@link #parse} is the only place that reads command syntax, and
 * {@link #HELP} is generated from the same registry, so help never disagrees with the parser. What a command does is
 * its method of {@link Handler} ({@link SystemBotActions}); a new command goes in as docs/architecture.md says.
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

  record Help() implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.help(this);
    }
  }

  record Status() implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.status(this);
    }
  }

  record Logs(int count, String level) implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.logs(this);
    }
  }

  record Features() implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.features(this);
    }
  }

  record FeatureCreate(String name, String description) implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.featureCreate(this);
    }
  }

  record FeatureTest(String featureId) implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.featureTest(this);
    }
  }

  record Deploy(String featureId) implements BotCommand {
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
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.rollback(this);
    }

    @Override
    public boolean adminOnly() {
      return true;
    }
  }

  record Switch(int core) implements BotCommand {
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
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.whoAmI(this);
    }
  }

  /** {@code !command args}: a deployed feature answering to {@code command}. */
  record Invoke(String command, String args) implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.invoke(this);
    }
  }

  /** Anything else: a question for the language model. */
  record Question(String text) implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.question(this);
    }
  }

  /** A command the parser recognised but whose arguments are wrong: the answer says how to write it. */
  record Malformed(String usage) implements BotCommand {
    @Override
    public <R> R accept(Handler<R> handler) {
      return handler.malformed(this);
    }
  }

  /** One entry of the registry: its syntax, what it does, and how it is recognised. */
  record Syntax(String usage, String summary, boolean adminOnly) {}

  List<Syntax> REGISTRY = List.of(
      new Syntax("help", "this list", false),
      new Syntax("status", "which core is active, the epoch, and the components' health", false),
      new Syntax("logs [n] [level]", "the newest n log lines (default 10, at most 50), at least at level", false),
      new Syntax("features", "every feature with its status", false),
      new Syntax("feature create <name>: <description>", "a new feature, written and tested by the language model",
          false),
      new Syntax("feature test <id>", "test the newest revision of a feature in the sandbox", false),
      new Syntax("deploy <id>", "deploy the tested revision of a feature (admin, asks for a yes/no)", true),
      new Syntax("rollback <id>", "go back to the previous deployed revision (admin, asks for a yes/no)", true),
      new Syntax("switch 1|2", "hand the active role to core 1 or 2 (admin, asks for a yes/no)", true),
      new Syntax("upgrade <ref>", "upgrade Heyken itself to a git ref of its repository, standby first, rolled back "
          + "on any failure (admin, asks for a yes/no)", true),
      new Syntax("services", "the registered components and their health", false),
      new Syntax("service add <name> <image> [command...]", "run a Docker service from a local image (admin, asks "
          + "for a yes/no)", true),
      new Syntax("service stop|start|remove <name>", "stop, start or remove a Docker service (admin, asks for a "
          + "yes/no)", true),
      new Syntax("whoami", "your user id and whether you are an admin", false),
      new Syntax("!<command> [args]", "run a deployed feature, e.g. !weather Paris", false));

  /** The help text, from {@link #REGISTRY}. */
  String HELP = helpText();

  private static String helpText() {
    var b = new StringBuilder("Commands:\n");
    for (var s : REGISTRY) {
      b.append("  ").append(s.usage()).append(" — ").append(s.summary()).append('\n');
    }
    return b.append("Anything else is a question for the language model.").toString();
  }

  Pattern FEATURE_ID = Pattern.compile("[1-9][0-9]{0,17}");
  Pattern LOGS = Pattern.compile("logs(?:\\s+(\\d{1,4}))?(?:\\s+(trace|debug|info|warn|warning|error))?",
      Pattern.CASE_INSENSITIVE);
  Pattern FEATURE_CREATE = Pattern.compile("feature\\s+create\\s+([^:\\s]+)\\s*:\\s*(.+)",
      Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
  Pattern INVOKE = Pattern.compile("!([a-z][a-z0-9_-]{0,31})(?:\\s+(.*))?", Pattern.DOTALL);

  Pattern SERVICE_NAME = Pattern.compile("[a-z]([a-z0-9-]{0,38}[a-z0-9])?");

  private static BotCommand parseService(String text, String[] words) {
    String usage = "service add <name> <image> [command...] | service stop|start|remove <name>, e.g. service add web "
        + "sandbox/busybox:1 httpd -f -p 8080";
    String[] original = text.split("\\s+");
    if (words.length >= 4 && words[1].equals("add") && SERVICE_NAME.matcher(original[2]).matches()) {
      return new ServiceChange("add", original[2], original[3],
          List.of(original).subList(4, original.length));
    }
    if (words.length == 3 && List.of("stop", "start", "remove").contains(words[1])
        && SERVICE_NAME.matcher(original[2]).matches()) {
      return new ServiceChange(words[1], original[2], null, List.of());
    }
    return words.length <= 2 || List.of("add", "stop", "start", "remove").contains(words[1]) ? new Malformed(usage)
        : new Question(text);
  }

  /** Reads a chat message; a mention of the bot in front ({@code @heyken_bot deploy 3}) is ignored. */
  static BotCommand parse(String raw, String botUsername) {
    String text = raw == null ? "" : raw.strip();
    if (botUsername != null && !botUsername.isEmpty()) {
      text = text.replaceFirst("^@" + Pattern.quote(botUsername) + "[:,]?\\s*", "");
    }
    String lower = text.toLowerCase(Locale.ROOT);
    String[] words = lower.split("\\s+");
    Matcher m;
    if (text.startsWith("!")) {
      m = INVOKE.matcher(text);
      return m.matches() ? new Invoke(m.group(1), m.group(2) == null ? "" : m.group(2).strip())
          : new Malformed("!<command> [args] — a deployed feature's command: lower-case letters, digits, '_', '-'");
    }
    switch (words[0]) {
      case "help":
        return words.length == 1 ? new Help() : new Question(text);
      case "status":
        return words.length == 1 ? new Status() : new Question(text);
      case "features":
        return words.length == 1 ? new Features() : new Question(text);
      case "services":
        return words.length == 1 ? new Services() : new Question(text);
      case "whoami":
        return words.length == 1 ? new WhoAmI() : new Question(text);
      case "logs":
        m = LOGS.matcher(text);
        if (m.matches()) {
          int n = m.group(1) == null ? 10 : Integer.parseInt(m.group(1));
          String level = m.group(2) == null ? null : m.group(2).toUpperCase(Locale.ROOT).replace("WARNING", "WARN");
          return new Logs(Math.max(1, Math.min(n, 50)), level);
        }
        return words.length <= 3 ? new Malformed("logs [n] [level], e.g. logs 20 warn") : new Question(text);
      case "feature":
        if (words.length > 1 && words[1].equals("create")) {
          m = FEATURE_CREATE.matcher(text);
          return m.matches() ? new FeatureCreate(m.group(1), m.group(2).strip())
              : new Malformed("feature create <name>: <description>, e.g. feature create weather: the temperature "
                  + "for a city");
        }
        if (words.length > 1 && words[1].equals("test")) {
          return words.length == 3 && FEATURE_ID.matcher(words[2]).matches() ? new FeatureTest(words[2])
              : new Malformed("feature test <id>, e.g. feature test 3");
        }
        return new Question(text);
      case "deploy":
      case "rollback":
        if (words.length == 2 && FEATURE_ID.matcher(words[1]).matches()) {
          return words[0].equals("deploy") ? new Deploy(words[1]) : new Rollback(words[1]);
        }
        return words.length <= 2 ? new Malformed(words[0] + " <id>, e.g. " + words[0] + " 3") : new Question(text);
      case "service":
        return parseService(text, words);
      case "upgrade":
        if (words.length == 2 && text.split("\\s+")[1].matches("[A-Za-z0-9][A-Za-z0-9._/@^~-]{0,199}")) {
          return new SelfUpgrade(text.split("\\s+")[1]);
        }
        return words.length <= 2 ? new Malformed("upgrade <ref>, e.g. upgrade main (a branch, tag or commit of "
            + "Heyken's repository)") : new Question(text);
      case "switch":
        if (words.length == 2 && (words[1].equals("1") || words[1].equals("2"))) {
          return new Switch(Integer.parseInt(words[1]));
        }
        return words.length <= 2 ? new Malformed("switch 1|2") : new Question(text);
      default:
        return new Question(text);
    }
  }
}
