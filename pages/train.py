"""Train: start a run, watch loss and accuracy live, stop it whenever you like."""

from components.frame import cached
from components.frame.common import current_dataset, run_page
from components.panels import train


def body() -> None:
    data, _ = current_dataset()
    train.controls(data)
    train.live_view()
    cached.warm_trainer()


if __name__ == "__main__":
    run_page("Train", body, caption="Training runs in its own process: switch pages or open another tab freely.")
