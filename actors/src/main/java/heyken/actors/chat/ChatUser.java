package heyken.actors.chat;

import java.util.Objects;
import java.util.Set;

/**
 * A chat account as the server describes it to the bot.
 *
 * @param id the user id
 * @param username the handle ({@code @username})
 * @param name the display name
 * @param active false for deactivated accounts
 * @param roles the global roles; only meaningful when {@code rolesVisible}
 * @param rolesVisible whether the server showed the roles (it does so only to callers with
 *     {@code view-full-other-user-info}, which provisioning grants to the {@code bot} role)
 */
public record ChatUser(String id, String username, String name, boolean active, Set<String> roles,
    boolean rolesVisible) {

  public ChatUser {
    Objects.requireNonNull(id, "id");
    roles = Set.copyOf(roles);
  }

  /**
   * Whether the user is a Rocket.Chat admin.
   *
   * @throws IllegalStateException when the server did not show the roles: an unknown answer must not pass for "no"
   */
  public boolean isAdmin() {
    if (!rolesVisible) {
      throw new IllegalStateException("Rocket.Chat did not show the roles of user " + username + " (" + id + ") to "
          + "the bot: grant the permission view-full-other-user-info to the role bot (provisioning does this; run it "
          + "again, or set it in Administration > Permissions)");
    }
    return roles.contains("admin");
  }
}
