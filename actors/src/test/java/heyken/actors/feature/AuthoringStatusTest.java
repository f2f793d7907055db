package heyken.actors.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;

import heyken.protocol.api.feature.AuthoringView;
import heyken.protocol.api.feature.DeploymentView;
import heyken.protocol.api.feature.FeatureView;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What GET /api/features/{id} says of a feature the model writes: its status follows the author loop. */
class AuthoringStatusTest {

  private static FeatureView feature(String status, DeploymentView deployment) {
    return new FeatureView("3", "weather", "d", status, "weather", "2026-01-01T00:00:00Z", "abc", List.of(), List.of(),
        deployment);
  }

  private static AuthoringView loop(String state) {
    return new AuthoringView(state, "planning", 2, 3, "qwen2.5-coder:7b", null, List.of());
  }

  @Test
  void whileTheLoopRunsTheFeatureIsAuthoringUnlessATestRunIsUnderWay() {
    assertEquals("authoring", FeatureService.withAuthoring(feature("failed", null), loop("authoring")).status());
    assertEquals("authoring", FeatureService.withAuthoring(feature("draft", null), loop("authoring")).status());
    assertEquals("testing", FeatureService.withAuthoring(feature("testing", null), loop("authoring")).status());
    assertEquals("authoring", FeatureService.withAuthoring(feature("draft", null), null).status());
  }

  @Test
  void aStoppedLoopMakesTheFeatureFailedWhateverItsLastRunSaid() {
    assertEquals("failed", FeatureService.withAuthoring(feature("draft", null), loop("failed")).status());
    assertEquals("failed", FeatureService.withAuthoring(feature("passed", null), loop("failed")).status());
  }

  @Test
  void anApprovedFeatureIsDeployedAndSoIsItsLoop() {
    var deployment = new DeploymentView("3", "abc", "weather", "2026-01-01T00:00:00Z", 1, 1L, List.of());
    var view = FeatureService.withAuthoring(feature("deployed", deployment), loop("awaiting_approval"));
    assertEquals("deployed", view.status());
    assertEquals("deployed", view.authoring().state());
    assertEquals("passed", FeatureService.withAuthoring(feature("passed", null), loop("awaiting_approval")).status());
  }

  @Test
  void theCommandOfAnAuthoredFeatureIsItsNameInLowerCase() {
    assertEquals("weather", FeatureService.commandFor("Weather"));
    assertEquals("my_feature-2", FeatureService.commandFor("My_Feature-2"));
    assertEquals(32, FeatureService.commandFor("a".repeat(60)).length());
  }
}
