"""Train: start a run, watch loss and accuracy live, stop it whenever you like."""

from components import cached, train_panel
from components.common import current_dataset, run_page


def body() -> None:
    data, _ = current_dataset()
    train_panel.controls(data)
    train_panel.live_view()
    cached.warm_trainer()


if __name__ == "__main__":
    run_page("Train", body, caption="Training runs in its own process: switch pages or open another tab freely.")
