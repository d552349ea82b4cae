"""Study: which single change of the settings helps (a lever study), or a search of them (a sweep); many runs,
trained one at a time in the server's queue, stoppable and resumable."""

from components.frame import cached
from components.frame.common import current_dataset, run_page
from components.panels.study import reading, setup, view


def body() -> None:
    study = reading.picker()
    if study is None:
        data, key = current_dataset()
        setup.new_study(data, key)
    else:
        data, _ = current_dataset(stop=False)
        view.study_view(study, data)
    cached.warm_trainer()


if __name__ == "__main__":
    run_page("Study", body, caption="Many ordinary runs with one question: what helps? Stop it whenever you like; "
                                    "Resume carries on where it stopped.")
