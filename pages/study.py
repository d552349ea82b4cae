"""Study: which single change of the settings helps (a lever study), or a search of them (a sweep); many runs,
trained one at a time in the server's queue, stoppable and resumable."""

from components import cached, study_panel
from components.common import current_dataset, run_page


def body() -> None:
    study = study_panel.picker()
    if study is None:
        data, key = current_dataset()
        study_panel.new_study(data, key)
    else:
        data, _ = current_dataset(stop=False)
        study_panel.study_view(study, data)
    cached.warm_trainer()


if __name__ == "__main__":
    run_page("Study", body, caption="Many ordinary runs with one question: what helps? Stop it whenever you like; "
                                    "Resume carries on where it stopped.")
