"""Four eyes, the approver's side: the refunds waiting for a second person, the count in the menu,
and the e-mail that tells each approver a request is waiting.

- ``selectors``: what waits for ``access`` (scoped to its stores), how many it may decide, who
  the approvers of a request are;
- ``services``: the e-mail to every approver (one each, in their language), sent after commit;
- ``views``: the Awaiting approval page.
"""
