"""Bundles secured by several registrations and the LTV override at approval (issue 10, points 1, 2).

A case files one pledge application per registry regime (``CaseFiling``; the single
``CreditCase.pledge_application_no`` becomes the first of them); a loan keeps every right that secures
it with its registration and the value the valuation gives it (``LoanCollateral``); an approval above
the maximum loan is recorded with its reason, approver and time.  Existing cases and loans are carried
over: each case's application becomes its filing (regime from the application), each loan's registration
becomes one collateral row per right it pledges (no allocation: those loans were booked without one).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def carry_over(apps, schema_editor):
    CreditCase = apps.get_model("credit", "CreditCase")
    CaseFiling = apps.get_model("credit", "CaseFiling")
    Loan = apps.get_model("credit", "Loan")
    LoanCollateral = apps.get_model("credit", "LoanCollateral")
    PledgeApplication = apps.get_model("registry", "PledgeApplication")
    Pledge = apps.get_model("registry", "Pledge")
    PledgeRight = apps.get_model("registry", "PledgeRight")
    for case in CreditCase.objects.exclude(pledge_application_no="").only("pk", "pledge_application_no"):
        app = PledgeApplication.objects.filter(application_no=case.pledge_application_no).first()
        CaseFiling.objects.create(case_id=case.pk, application_no=case.pledge_application_no,
                                  regime=app.regime if app else "")
    for loan in Loan.objects.exclude(pledge_registration_no="").only("pk", "pledge_registration_no"):
        pledge = Pledge.objects.filter(registration_no=loan.pledge_registration_no).first()
        if pledge is None:
            continue
        LoanCollateral.objects.bulk_create([
            LoanCollateral(loan_id=loan.pk, registration_no=pledge.registration_no, regime=pledge.regime,
                           right_kind=kind, right_number=number)
            for kind, number in PledgeRight.objects.filter(pledge_id=pledge.pk).order_by("id")
            .values_list("right__kind", "right__number")])


def carry_back(apps, schema_editor):
    CreditCase = apps.get_model("credit", "CreditCase")
    CaseFiling = apps.get_model("credit", "CaseFiling")
    for filing in CaseFiling.objects.order_by("-id"):  # the first filing of a case is written last
        CreditCase.objects.filter(pk=filing.case_id).update(pledge_application_no=filing.application_no)


class Migration(migrations.Migration):

    dependencies = [
        ('credit', '0004_repayment_covering_index'),
        ('registry', '0004_secured_amount_in_fen'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='creditcase',
            name='ltv_override_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='creditcase',
            name='ltv_override_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='creditcase',
            name='ltv_override_reason',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.CreateModel(
            name='CaseFiling',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('regime', models.CharField(max_length=16)),
                ('application_no', models.CharField(max_length=20, unique=True)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='filings', to='credit.creditcase')),
            ],
            options={
                'ordering': ['case', 'id'],
                'constraints': [models.UniqueConstraint(fields=('case', 'regime'), name='case_filing_per_regime')],
            },
        ),
        migrations.CreateModel(
            name='LoanCollateral',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('registration_no', models.CharField(max_length=24)),
                ('regime', models.CharField(max_length=16)),
                ('right_kind', models.CharField(max_length=32)),
                ('right_number', models.CharField(max_length=64)),
                ('allocated_value', models.BigIntegerField(blank=True, null=True, verbose_name='allocated value (fen)')),
                ('loan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='collateral', to='credit.loan')),
            ],
            options={
                'ordering': ['loan', 'id'],
                'constraints': [models.UniqueConstraint(fields=('loan', 'registration_no', 'right_kind', 'right_number'), name='loan_collateral_unique')],
            },
        ),
        migrations.RunPython(carry_over, carry_back),
        migrations.RemoveField(
            model_name='creditcase',
            name='pledge_application_no',
        ),
    ]
