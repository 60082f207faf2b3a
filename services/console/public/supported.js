// GOV.UK Frontend's components run only where the body says JavaScript and ES modules are supported.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
