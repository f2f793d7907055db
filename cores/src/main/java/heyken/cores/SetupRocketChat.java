package heyken.cores;

import com.typesafe.config.Config;
import heyken.actors.chat.ChatException;
import heyken.actors.chat.ChatSettings;
import heyken.actors.chat.RocketChatPlatform;
import java.io.PrintStream;
import org.slf4j.LoggerFactory;

/**
 * {@code setup-rocketchat}: provisions Rocket.Chat once from the command line (scripts/setup_rocketchat.sh), as the
 * active core does at start, and prints what it found and did. Idempotent: a second run changes nothing and says so.
 */
final class SetupRocketChat {

  private SetupRocketChat() {}

  /** Returns the exit code: 0 done (or nothing to do), 1 something needs a person, 2 not configured or refused. */
  static int run(Config config, PrintStream out, PrintStream err) {
    // the report is printed below; the provisioner's own log lines would say the same twice
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("heyken"))
        .setLevel(ch.qos.logback.classic.Level.WARN);
    ChatSettings settings;
    try {
      settings = ChatSettings.from(config);
    } catch (IllegalArgumentException e) {
      err.println("setup-rocketchat: " + e.getMessage());
      return 2;
    }
    if (!settings.canProvision()) {
      err.println("setup-rocketchat: set ROCKETCHAT_URL (e.g. http://127.0.0.1:3100), ROCKETCHAT_ADMIN_USERNAME and "
          + "ROCKETCHAT_ADMIN_PASSWORD in .env (scripts/init.sh generates the accounts), then run it again");
      return 2;
    }
    out.println("Provisioning Rocket.Chat at " + settings.url() + " as " + settings.adminUsername() + " ...");
    try (var chat = new RocketChatPlatform(settings)) {
      var report = chat.provision();
      out.println(report.summary());
      if (report.needsAttention()) {
        return 1;
      }
      out.println(report.changedAnything() ? "Done: the bot " + settings.botUsername() + " (" + report.botUserId()
          + ") and its rooms are ready." : "Nothing to do: a second run changes nothing.");
      return 0;
    } catch (ChatException | IllegalArgumentException e) {
      err.println("setup-rocketchat: " + e.getMessage());
      return 2;
    }
  }
}
