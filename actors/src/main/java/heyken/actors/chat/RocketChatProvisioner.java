package heyken.actors.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import heyken.actors.chat.ProvisioningReport.Outcome;
import heyken.actors.chat.ProvisioningReport.Step;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First-start provisioning of Rocket.Chat in the idempotent order of shared/protocols/rocketchat.md §1.3: look each
 * thing up, create or fix only what is missing, and report every step. Runs as the admin; blocking.
 */
final class RocketChatProvisioner {

  private static final Logger log = LoggerFactory.getLogger(RocketChatProvisioner.class);
  /** Lets the bot read other users' roles (admin checks); by default only admins have it. */
  static final String ROLES_PERMISSION = "view-full-other-user-info";
  private static final String WIZARD = "Show_Setup_Wizard";

  private final ChatSettings settings;
  private final RocketChatRest rest;
  private final List<Step> steps = new ArrayList<>();
  private final Map<String, String> roomIds = new LinkedHashMap<>();

  RocketChatProvisioner(ChatSettings settings, RocketChatRest rest) {
    this.settings = settings;
    this.rest = rest;
  }

  ProvisioningReport run() {
    if (!settings.canProvision()) {
      throw new ChatException("provisioning Rocket.Chat needs heyken.chat.url (ROCKETCHAT_URL), "
          + "heyken.chat.admin-username (ROCKETCHAT_ADMIN_USERNAME) and heyken.chat.admin-password "
          + "(ROCKETCHAT_ADMIN_PASSWORD)");
    }
    RocketChatRest.Session admin = rest.session(settings.adminUsername(), settings.adminPassword(),
        "ROCKETCHAT_ADMIN_PASSWORD");
    try {
      admin.credentials();
      String botId = ensureUser(admin, settings.botUsername(), settings.botDisplayName(), settings.botPassword(),
          "bot");
      String humanId = null;
      if (settings.humanPassword().isEmpty()) {
        step("user " + settings.humanUsername(), Outcome.SKIPPED,
            "heyken.chat.human-password (ROCKETCHAT_HUMAN_PASSWORD) is empty");
      } else {
        humanId = ensureUser(admin, settings.humanUsername(), settings.humanUsername(), settings.humanPassword(),
            "user");
      }
      ensureBotMaySeeRoles(admin);
      Map<String, String> members = new LinkedHashMap<>();
      members.put(settings.botUsername(), botId);
      if (humanId != null) {
        members.put(settings.humanUsername(), humanId);
      }
      ensureRoom(admin, settings.systemChannel(), false, members);
      ensureRoom(admin, settings.logsChannel(), false, members);
      ensureRoom(admin, settings.sandboxGroup(), true, members);
      ensureGeneral(admin, members);
      ensureWizardCompleted(admin);
      checkBotLogin();
      ProvisioningReport report = new ProvisioningReport(steps, roomIds, botId);
      if (report.needsAttention()) {
        log.warn(report.summary());
      } else {
        log.info(report.summary());
      }
      return report;
    } finally {
      admin.logout();
    }
  }

  private void step(String subject, Outcome outcome, String detail) {
    steps.add(new Step(subject, outcome, detail));
  }

  // ---------------------------------------------------------------- users

  private Optional<JsonNode> findUser(RocketChatRest.Session admin, String username) {
    try {
      return Optional.of(rest.get(admin, "users.info", RocketChatRest.query("username", username)).path("user"));
    } catch (ChatException e) {
      if (e.status() == 400) {
        return Optional.empty(); // "User not found." (no errorType on most versions)
      }
      throw e;
    }
  }

  /**
   * Creates the account with an unverified email (a verified one plus email-2FA auto opt-in would make every
   * password login ask for an emailed code) and without joining default channels. Returns its id.
   */
  private String ensureUser(RocketChatRest.Session admin, String username, String name, String password,
      String role) {
    String subject = "user " + username;
    Optional<JsonNode> existing = findUser(admin, username);
    if (existing.isPresent()) {
      JsonNode user = existing.get();
      Set<String> roles = new LinkedHashSet<>();
      user.path("roles").forEach(r -> roles.add(r.asText()));
      if (role.equals("bot") && !roles.contains("bot")) {
        step(subject, Outcome.NEEDS_ATTENTION, "exists without the role bot (roles " + roles + "): add it in "
            + "Administration > Users, or the bot is rate-limited and cannot see user roles");
      } else {
        step(subject, Outcome.UNCHANGED, "exists");
      }
      return user.path("_id").asText();
    }
    ObjectNode body = rest.object()
        .put("email", username + "@" + settings.emailDomain())
        .put("name", name)
        .put("password", password)
        .put("username", username)
        .put("joinDefaultChannels", false)
        .put("verified", false)
        .put("requirePasswordChange", false)
        .put("sendWelcomeEmail", false);
    body.putArray("roles").add(role);
    JsonNode created = rest.post(admin, "users.create", body).path("user");
    step(subject, Outcome.CREATED, "role " + role + ", unverified email " + username + "@" + settings.emailDomain());
    return created.path("_id").asText();
  }

  private void ensureBotMaySeeRoles(RocketChatRest.Session admin) {
    String subject = "permission " + ROLES_PERMISSION;
    JsonNode all = rest.get(admin, "permissions.listAll", Map.of()).path("update");
    for (JsonNode p : all) {
      if (!ROLES_PERMISSION.equals(p.path("_id").asText())) {
        continue;
      }
      List<String> roles = new ArrayList<>();
      p.path("roles").forEach(r -> roles.add(r.asText()));
      if (roles.contains("bot")) {
        step(subject, Outcome.UNCHANGED, "role bot has it");
        return;
      }
      roles.add("bot");
      ObjectNode body = rest.object();
      ObjectNode entry = body.putArray("permissions").addObject().put("_id", ROLES_PERMISSION);
      ArrayNode list = entry.putArray("roles");
      roles.forEach(list::add);
      rest.post(admin, "permissions.update", body);
      step(subject, Outcome.UPDATED, "granted to role bot, so that the bot can tell admins from others");
      return;
    }
    step(subject, Outcome.NEEDS_ATTENTION, "the server has no such permission: admin checks by the bot will fail");
  }

  // ---------------------------------------------------------------- rooms

  private Optional<JsonNode> findRoom(RocketChatRest.Session admin, String name, boolean privateGroup) {
    try {
      JsonNode answer = rest.get(admin, privateGroup ? "groups.info" : "channels.info",
          RocketChatRest.query("roomName", name));
      return Optional.of(answer.path(privateGroup ? "group" : "channel"));
    } catch (ChatException e) {
      if ("error-room-not-found".equals(e.errorType())) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** Creates the room with its members, or invites the members it lacks. */
  private void ensureRoom(RocketChatRest.Session admin, String name, boolean privateGroup,
      Map<String, String> members) {
    String kind = privateGroup ? "group" : "channel";
    String subject = (privateGroup ? "private group " : "channel ") + name;
    Optional<JsonNode> existing = findRoom(admin, name, privateGroup);
    if (existing.isEmpty()) {
      ObjectNode body = rest.object().put("name", name).put("readOnly", false);
      ArrayNode list = body.putArray("members");
      members.keySet().forEach(list::add);
      try {
        JsonNode created = rest.post(admin, privateGroup ? "groups.create" : "channels.create", body).path(kind);
        roomIds.put(name, created.path("_id").asText());
        step(subject, Outcome.CREATED, "members " + String.join(", ", members.keySet()));
      } catch (ChatException e) {
        if (!"error-duplicate-channel-name".equals(e.errorType())) {
          throw e;
        }
        // a private group the admin is not in is invisible to it, and nobody but its members may invite
        step(subject, Outcome.NEEDS_ATTENTION, "the name is taken by a room " + settings.adminUsername()
            + " cannot see (a private group without " + settings.adminUsername() + ", or a room of another type): add "
            + settings.adminUsername() + " and " + settings.botUsername() + " to it, or rename it and provision again");
      }
      return;
    }
    String roomId = existing.get().path("_id").asText();
    roomIds.put(name, roomId);
    addMissingMembers(admin, subject, roomId, privateGroup, members);
  }

  private void ensureGeneral(RocketChatRest.Session admin, Map<String, String> members) {
    String name = settings.generalChannel();
    Optional<JsonNode> general = findRoom(admin, name, false);
    if (general.isEmpty()) {
      step("channel " + name, Outcome.NEEDS_ATTENTION, "the server's default channel is missing: set "
          + "heyken.chat.rooms.general to its current name");
      return;
    }
    String roomId = general.get().path("_id").asText();
    roomIds.put(name, roomId);
    addMissingMembers(admin, "channel " + name, roomId, false, members);
  }

  private void addMissingMembers(RocketChatRest.Session admin, String subject, String roomId, boolean privateGroup,
      Map<String, String> wanted) {
    Set<String> present = new LinkedHashSet<>();
    int offset = 0;
    while (true) {
      JsonNode page = rest.get(admin, privateGroup ? "groups.members" : "channels.members",
          RocketChatRest.query("roomId", roomId, "offset", String.valueOf(offset), "count", "100"));
      JsonNode list = page.path("members");
      list.forEach(m -> present.add(m.path("username").asText()));
      offset += list.size();
      if (list.isEmpty() || offset >= page.path("total").asInt(0)) {
        break;
      }
    }
    List<String> added = new ArrayList<>();
    for (var member : wanted.entrySet()) {
      if (present.contains(member.getKey())) {
        continue;
      }
      rest.post(admin, privateGroup ? "groups.invite" : "channels.invite",
          rest.object().put("roomId", roomId).put("userId", member.getValue()));
      added.add(member.getKey());
    }
    if (added.isEmpty()) {
      step(subject, Outcome.UNCHANGED, "exists with its members");
    } else {
      step(subject, Outcome.UPDATED, "added " + String.join(", ", added));
    }
  }

  // ---------------------------------------------------------------- wizard and checks

  /**
   * Marks the setup wizard completed. The setting is a privileged one behind 2FA: the password fallback headers
   * ({@code X-2fa-Code} = SHA-256 of the admin's password, {@code X-2fa-Method: password}) are always sent.
   */
  private void ensureWizardCompleted(RocketChatRest.Session admin) {
    String subject = "setting " + WIZARD;
    String value = rest.get(admin, "settings/" + WIZARD, Map.of()).path("value").asText("");
    if (value.equals("completed")) {
      step(subject, Outcome.UNCHANGED, "completed");
      return;
    }
    try {
      rest.post(admin, "settings/" + WIZARD, rest.object().put("value", "completed"),
          Map.of("X-2fa-Code", admin.passwordDigest(), "X-2fa-Method", "password"));
      step(subject, Outcome.UPDATED, value + " → completed");
    } catch (ChatException e) {
      if (e.errorType() == null || !e.errorType().startsWith("totp")) {
        throw e;
      }
      step(subject, Outcome.NEEDS_ATTENTION, "the server wants another two-factor method for "
          + settings.adminUsername() + " (" + e.errorType() + "): set OVERWRITE_SETTING_Show_Setup_Wizard=completed "
          + "in the Rocket.Chat environment, or finish the wizard in the browser");
    }
  }

  /** A password login as the bot: an existing account with another password or email 2FA shows up here, not later. */
  private void checkBotLogin() {
    String subject = "login " + settings.botUsername();
    try {
      RocketChatRest.Session bot = rest.session(settings.botUsername(), settings.botPassword(),
          "ROCKETCHAT_BOT_PASSWORD");
      bot.credentials();
      bot.logout();
      step(subject, Outcome.UNCHANGED, "the bot can log in");
    } catch (ChatException.LoginRefused e) {
      step(subject, Outcome.NEEDS_ATTENTION, e.getMessage());
    }
  }
}
