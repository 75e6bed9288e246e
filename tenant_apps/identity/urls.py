"""Staff management, custom roles, personal API tokens and the invitation link, mounted under /backoffice/."""
from django.urls import path

from tenant_apps.identity import social_views, views

urlpatterns = [
    path("staff/", views.StaffListView.as_view(), name="backoffice_staff"),
    path("staff/invite/", views.StaffInviteView.as_view(), name="backoffice_staff_invite"),
    path("staff/invites/<int:invite_id>/revoke/", views.StaffInviteActionView.as_view(verb="revoke"),
         name="backoffice_staff_invite_revoke"),
    path("staff/invites/<int:invite_id>/resend/", views.StaffInviteActionView.as_view(verb="resend"),
         name="backoffice_staff_invite_resend"),
    path("staff/teams/", views.TeamsView.as_view(), name="backoffice_teams"),
    path("staff/teams/<int:team_id>/", views.TeamUpdateView.as_view(), name="backoffice_team"),
    path("staff/<int:user_id>/", views.StaffDetailView.as_view(), name="backoffice_staff_detail"),
    path("staff/<int:user_id>/deactivate/", views.StaffDeactivateView.as_view(), name="backoffice_staff_deactivate"),
    path("staff/<int:user_id>/reactivate/", views.StaffReactivateView.as_view(), name="backoffice_staff_reactivate"),
    path("roles/new/", views.RoleCreateView.as_view(), name="backoffice_role_new"),
    path("roles/<int:role_id>/", views.RoleDetailView.as_view(), name="backoffice_role"),
    path("roles/<int:role_id>/delete/", views.RoleDeleteView.as_view(), name="backoffice_role_delete"),
    path("account/api-tokens/", views.ApiTokensView.as_view(), name="backoffice_api_tokens"),
    path("account/api-tokens/<int:token_id>/revoke/", views.ApiTokenRevokeView.as_view(),
         name="backoffice_api_token_revoke"),
    path("settings/sign-in/", social_views.SocialLoginSettingsView.as_view(), name="backoffice_social_login"),
    # The e-mailed invitation link: for someone who has no account yet.
    path("join/<str:token>/", views.InviteAcceptView.as_view(), name="backoffice_invite_accept"),
]
