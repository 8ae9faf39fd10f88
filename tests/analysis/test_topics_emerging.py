"""emerging_themes: what an episode is about, against the watch's usual conversation."""

from __future__ import annotations

from flocon.analysis.topics import TopicInput, emerging_themes


def test_the_themes_of_a_burst_stand_out_from_the_usual_conversation() -> None:
    usual = [
        TopicInput(i, text, "fr")
        for i, text in enumerate(
            [
                "Acme livraison rapide, merci",
                "Acme service client sympa",
                "Acme livraison rapide et soignée",
                "Produit Acme conforme, service client efficace",
            ]
            * 10
        )
    ]
    burst = [
        TopicInput(1000 + i, text, "fr")
        for i, text in enumerate(
            [
                "Acme rappel produit, intoxication alimentaire",
                "Intoxication alimentaire après Acme, rappel demandé",
                "Acme: rappel produit annoncé, j'ai eu une intoxication alimentaire",
                "Acme livraison rapide mais rappel produit ?",
            ]
        )
    ]
    themes = emerging_themes(burst, usual, exclude=["acme"])
    labels = [t.label for t in themes]
    assert labels and labels[0] in {"intoxication alimentaire", "rappel produit"}
    assert all("livraison" not in label for label in labels)
    assert all(t.negative_total == len(burst) for t in themes)
    # Nothing stands out when the episode looks like every other day.
    assert emerging_themes(usual[:4], usual[4:], exclude=["acme"]) == ()
